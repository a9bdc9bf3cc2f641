"""The paths and fields of our leak defences (Elasticsearch has none: each path is marked `x-extension`): the
published format of new secrets, secret scanning's leak reports, and a key's `allowed_ips` and `leaked`."""

from __future__ import annotations

from typing import Any

from apikeys.api.openapi.parts import (
    MILLIS,
    TAG,
    Schema,
    answer,
    closed,
    nullable,
    operation,
    param_refs,
    ref,
)
from apikeys.domain import keys
from apikeys.domain.networks import MAX_ENTRIES
from apikeys.infra.secret_scanning import KEY_IDENTIFIER_HEADER, SIGNATURE_HEADER
from apikeys.services.leaks import MAX_REPORTS, REPORT_FIELDS

ALLOWED_IPS: Schema = nullable(
    {
        "type": "array",
        "maxItems": MAX_ENTRIES,
        "items": {"type": "string"},
        "description": "Ours: the networks the key may be used from, CIDRs or addresses, IPv4 or IPv6; empty: "
        "anywhere. Omitted or null in an update or a roll: unchanged.",
    }
)
ALLOWED_IPS_ANSWER: Schema = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string"},
    "description": "Ours: the key's allowlist, canonical; omitted when it has none (it works from anywhere).",
}
LEAKED: Schema = closed(
    {"url": {"type": "string"}, "source": {"type": "string"}, "reported": MILLIS},
    ("url", "source", "reported"),
    description="Ours: where secret scanning found the key, and when it was reported; omitted otherwise.",
)

SCHEMAS: dict[str, Schema] = {
    "SecretFormatResponse": closed(
        {
            "prefix": {"const": keys.SECRET_PREFIX},
            "secret": {"type": "string", "description": "The regular expression every new secret matches."},
            "encoded": {"type": "string", "description": "The regular expression every new `encoded` matches."},
            "issuing": {"enum": list(keys.SECRET_FORMATS), "description": "`APIKEYS_SECRET_FORMAT`."},
        },
        ("prefix", "secret", "encoded", "issuing"),
    ),
    "LeakReports": {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_REPORTS,
        "items": {
            "type": "object",
            "required": list(REPORT_FIELDS),
            "properties": {name: {"type": "string"} for name in (*REPORT_FIELDS, "source")},
        },
    },
    "LeakFeedback": {
        "type": "array",
        "items": closed(
            {
                "token_hash": {"type": "string", "description": "SHA-256 of the token, hex."},
                "token_type": {"type": "string"},
                "label": {"enum": ["true_positive", "false_positive"]},
            },
            ("token_hash", "token_type", "label"),
        ),
    },
}


def header_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": description}


def paths() -> dict[str, Any]:
    leaked = operation(
        "reportLeakedApiKeys",
        TAG,
        "Report leaked API keys (GitHub's secret scanning partner format)",
        answer("GitHub's feedback: one entry per reported token, in order.", ref("LeakFeedback")),
        body={"required": True, "content": {"application/json": {"schema": ref("LeakReports")}}},
        params=[
            *param_refs(),
            header_param(KEY_IDENTIFIER_HEADER, "The scanner's key that signed the body."),
            header_param(SIGNATURE_HEADER, "Base64 of the DER ECDSA P-256 SHA-256 signature of the raw body."),
        ],
        forbidden=False,
        extension="No credentials: the body's signature, checked against the public keys in "
        "`APIKEYS_SECRET_SCANNING_KEYS`, says who is calling (401 when it does not hold, and nothing changes). "
        "A token is matched as the encoded credential, `id:secret`, or a recognisable bare secret. Each active key "
        "found is marked `leaked`, invalidated (or, with `APIKEYS_LEAK_ACTION=notify`, left working), audited as "
        "`leak`, and its owner e-mailed; a key already reported is left as it is.",
    )
    del leaked["responses"]["403"]  # nobody is authenticated, so nobody is refused by privileges
    return {
        "/_security/api_key/_format": {
            "get": operation(
                "getApiKeySecretFormat",
                TAG,
                "The published format of new secrets and encoded credentials",
                answer("The regular expressions.", ref("SecretFormatResponse")),
                forbidden=False,
                extension="For secret scanners: a prefix, 128 random bits and a CRC32 checksum, in base62. A "
                "credential whose checksum fails is refused before anything is read.",
            )
        },
        "/_security/api_key/_leaked": {"post": {**leaked, "security": []}},
    }
