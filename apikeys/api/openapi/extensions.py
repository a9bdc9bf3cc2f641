"""The paths of our extensions (Elasticsearch has no equivalent: each is marked `x-extension`): rolling a key,
and a key's usage, with the grace periods, periods, intervals and refusal reasons of the code that serves them."""

from __future__ import annotations

from typing import Any

from apikeys.api.openapi.keys import KEY_ID_PARAM, TAG
from apikeys.api.openapi.leaks import ALLOWED_IPS
from apikeys.api.openapi.parts import (
    DURATION,
    KEY_ID,
    MILLIS,
    Schema,
    answer,
    closed,
    json_body,
    nullable,
    operation,
    param_refs,
    query_param,
    ref,
    response_ref,
)
from apikeys.records.usage import INTERVALS, Refusal
from apikeys.services.reads import DEFAULT_USAGE_DAYS, DEFAULT_USAGE_INTERVAL, MAX_USAGE_DAYS
from apikeys.services.roll import DEFAULT_GRACE_PERIOD, MAX_GRACE_PERIOD

INTERVAL: Schema = {"enum": list(INTERVALS)}

SCHEMAS: dict[str, Schema] = {
    "RollApiKeyRequest": closed(
        {
            "grace_period": nullable(
                {
                    **DURATION,
                    "default": DEFAULT_GRACE_PERIOD,
                    "description": f"How long the old key keeps working: `0s` (it stops now) to `{MAX_GRACE_PERIOD}`.",
                }
            ),
            "allowed_ips": ALLOWED_IPS,
        }
    ),
    "UsageResponse": closed(
        {
            "id": KEY_ID,
            "interval": INTERVAL,
            "buckets": {
                "type": "array",
                "description": "Oldest first, every interval of the period (zeros included), whole UTC hours or days.",
                "items": closed(
                    {
                        "start": MILLIS,
                        "success": {"type": "integer", "minimum": 0},
                        "refused": ref("UsageRefusals"),
                    },
                    ("start", "success", "refused"),
                ),
            },
            "total": closed(
                {"success": {"type": "integer", "minimum": 0}, "refused": ref("UsageRefusals")},
                ("success", "refused"),
            ),
            "last_used": nullable({**MILLIS, "description": "Epoch milliseconds; null when never recorded."}),
        },
        ("id", "interval", "buckets", "total", "last_used"),
    ),
    "UsageRefusals": {
        "type": "object",
        "description": "Refused requests by reason; reasons with none are omitted.",
        "propertyNames": {"enum": list(Refusal.values)},
        "additionalProperties": {"type": "integer", "minimum": 1},
    },
}


REFUSALS = ", ".join(label.lower() for label in Refusal.labels)


def paths() -> dict[str, Any]:
    return {
        "/_security/api_key/{key_id}/_roll": {
            "post": operation(
                "rollApiKey",
                TAG,
                "Roll one of the caller's API keys: a successor now, the old key kept for a grace period",
                answer("The successor, with its secret (as create), and `rolled_from`.", ref("CreateApiKeyResponse")),
                body=json_body("RollApiKeyRequest", False, f"Omitted: a grace period of `{DEFAULT_GRACE_PERIOD}`."),
                params=[*param_refs(), KEY_ID_PARAM],
                not_found=response_ref("NotFound"),
                extension="The successor copies the key's name, type, role descriptors or access and metadata, "
                "and lives as long as the key did, counted from now (within `APIKEYS_MAX_EXPIRATION`); its "
                "`limited_by` is the owner's roles now. The old key expires at the earlier of its own "
                "expiration and now + `grace_period`. An expired, invalidated or already rolled key is refused "
                "(400, naming the successor). One transaction; audited as `roll`.",
            )
        },
        "/_security/api_key/{key_id}/_usage": {
            "get": operation(
                "getApiKeyUsage",
                TAG,
                "How often a key was used and refused, per hour or day",
                answer("The key's counts over the period.", ref("UsageResponse")),
                params=[
                    *param_refs(),
                    KEY_ID_PARAM,
                    query_param(
                        "days",
                        {"type": "integer", "minimum": 1, "maximum": MAX_USAGE_DAYS, "default": DEFAULT_USAGE_DAYS},
                        "The period.",
                    ),
                    query_param("interval", {**INTERVAL, "default": DEFAULT_USAGE_INTERVAL}, "The size of a bucket."),
                ],
                not_found=response_ref("NotFound"),
                extension="Every authentication with the key's id is counted: successes, and refusals by reason "
                f"({REFUSALS}). Counts reach the "
                "database at most every `APIKEYS_USAGE_FLUSH_SECONDS` from each worker; kept "
                "`APIKEYS_USAGE_RETENTION_DAYS`. Visible to whoever may see the key.",
            )
        },
    }
