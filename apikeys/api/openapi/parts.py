"""The pieces every part of the OpenAPI document is built from: schema shorthands, answers, parameters,
operations with the error answers every endpoint can give."""

from __future__ import annotations

from typing import Any

from apikeys.api.refusals import restricted_by_workflow
from apikeys.api.wire import COMMON_PARAMS
from apikeys.domain.durations import UNIT_SECONDS
from apikeys.domain.errors import (
    WWW_AUTHENTICATE,
    AuthenticationFailed,
    ContentTooLong,
    Forbidden,
    NotFound,
    TooManyFailures,
    ValidationFailed,
)
from apikeys.domain.keys import ID_BYTES, ID_PATTERN
from apikeys.infra.http import PRODUCT_HEADER

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def closed(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    """An object schema with exactly these properties (unknown fields are a 400 in requests)."""
    out: Schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        out["required"] = list(required)
    return {**out, **extra}


TAG = "API keys"
STRINGS: Schema = {"type": "array", "items": {"type": "string"}}
MILLIS: Schema = {"type": "integer", "description": "Epoch milliseconds."}
OBJECT: Schema = {"type": "object"}
KEY_ID: Schema = {
    "type": "string",
    "pattern": f"^{ID_PATTERN.pattern}$",
    # Base64 writes 3 bytes as 4 characters.
    "description": f"{ID_BYTES * 4 // 3} characters of URL-safe base64.",
}
DURATION: Schema = {
    "type": "string",
    "description": f"A time value: an integer and a unit (`{' '.join(UNIT_SECONDS)}`), e.g. `30m`, `7d`.",
    "examples": ["1d"],
}
BOOLEAN_MAP: Schema = {"type": "object", "additionalProperties": {"type": "boolean"}}
REALM: Schema = closed({"name": {"type": "string"}, "type": {"type": "string"}}, ("name", "type"))
ERROR_CAUSE: Schema = {
    "type": "object",
    "required": ["type", "reason"],
    "properties": {
        "type": {"type": "string", "examples": [ValidationFailed.error_type]},
        "reason": {"type": "string"},
        "path": {"type": "string", "description": "Where in a role descriptor the problem is."},
    },
}


NOT_FOUND_EMPTY: Schema = {"type": "object", "maxProperties": 0}

PRODUCT_HEADER_NAME, PRODUCT_NAME = PRODUCT_HEADER
PRODUCT_HEADER_REF = {PRODUCT_HEADER_NAME: {"$ref": f"#/components/headers/{PRODUCT_HEADER_NAME}"}}


def answer(description: str, schema: Schema, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {**PRODUCT_HEADER_REF, **(headers or {})},
        "content": {"application/json": {"schema": schema}},
    }


def error_answer(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return answer(description, ref("ErrorResponse"), headers)


RESTRICTED = restricted_by_workflow().error_type
RESPONSES: dict[str, Any] = {
    "BadRequest": error_answer("Malformed request: bad JSON, an unknown field or parameter, or a failed validation."),
    "Unauthenticated": error_answer(
        f"Missing or wrong credentials (`{AuthenticationFailed.error_type}`).",
        {"WWW-Authenticate": {"schema": {"const": WWW_AUTHENTICATE}, "description": "The schemes to retry with."}},
    ),
    "Forbidden": error_answer(
        f"The caller lacks the privilege (`{Forbidden.error_type}`), or is an API key restricted to workflows "
        f"(`{RESTRICTED}`)."
    ),
    "RestrictedByWorkflow": error_answer(
        f"The caller is an API key restricted to workflows (`{RESTRICTED}`): none of these endpoints is one."
    ),
    "NotFound": error_answer(f"Not found (`{NotFound.error_type}`)."),
    "MethodNotAllowed": error_answer(
        "Another method than those this path accepts.",
        {"Allow": {"schema": {"type": "string"}, "description": "The accepted methods, comma-separated."}},
    ),
    "ContentTooLarge": error_answer(f"The request body is over the size limit (`{ContentTooLong.error_type}`)."),
    "TooManyRequests": error_answer(
        f"Too many failed authentications from this client or for this key id (`{TooManyFailures.error_type}`).",
        {
            "Retry-After": {
                "schema": {"type": "integer", "minimum": 1},
                "required": True,
                "description": "Seconds until failed attempts are counted afresh.",
            }
        },
    ),
}


def response_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def query_param(name: str, schema: Schema, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


FLAG: Schema = {"type": "boolean"}
PARAMETERS: dict[str, Any] = {
    "pretty": query_param("pretty", FLAG, "Indent the JSON answer."),
    "human": query_param("human", FLAG, "Accepted for compatibility; ignored."),
    "error_trace": query_param("error_trace", FLAG, "Accepted for compatibility; ignored."),
    "refresh": query_param(
        "refresh", {"enum": ["true", "false", "wait_for"]}, "Accepted; every write is visible at once."
    ),
    "filter_path": query_param(
        "filter_path",
        {"type": "string"},
        "Keep only these comma-separated paths of the answer (`*` in a name, `**` for any depth, `-` to leave a "
        "path out), as Elasticsearch does.",
    ),
    "with_limited_by": query_param("with_limited_by", FLAG, "Include each key's `limited_by`."),
    "with_profile_uid": query_param("with_profile_uid", FLAG, "Accepted for compatibility; ignored."),
}
# The parameters every endpoint takes, in the order above.
COMMON = tuple(name for name in PARAMETERS if name in COMMON_PARAMS)


def param_refs(*names: str) -> list[dict[str, str]]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in (*COMMON, *names)]


def json_body(schema_name: str, required: bool, description: str | None = None) -> dict[str, Any]:
    media = {"schema": ref(schema_name)}
    body: dict[str, Any] = {
        "required": required,
        # The official client sends the vendor type; both are parsed as JSON.
        "content": {"application/json": media, "application/vnd.elasticsearch+json": media},
    }
    if description:
        body["description"] = description
    return body


def operation(
    operation_id: str,
    tag: str,
    summary: str,
    ok: dict[str, Any],
    *,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    forbidden: bool = True,
    not_found: dict[str, Any] | None = None,
    bad_request: dict[str, Any] | None = None,
    extension: str | None = None,
) -> dict[str, Any]:
    """One operation with the error answers every endpoint can give: 400, 401, 403, (404), 405, 413, 429; an
    operation that is not `forbidden` by privileges is still refused to a key restricted to workflows.
    `extension` describes an operation of ours that Elasticsearch does not have (marked `x-extension`)."""
    responses: dict[str, Any] = {
        "200": ok,
        "400": bad_request or response_ref("BadRequest"),
        "401": response_ref("Unauthenticated"),
    }
    responses["403"] = response_ref("Forbidden" if forbidden else "RestrictedByWorkflow")
    if not_found is not None:
        responses["404"] = not_found
    responses["405"] = response_ref("MethodNotAllowed")
    responses["413"] = response_ref("ContentTooLarge")
    responses["429"] = response_ref("TooManyRequests")
    out: dict[str, Any] = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "parameters": params if params is not None else param_refs(),
        "responses": responses,
    }
    if body is not None:
        out["requestBody"] = body
    if extension is not None:
        out["description"] = f"Our extension: Elasticsearch has no equivalent. {extension}"
        out["x-extension"] = True
    return out


def found_false() -> dict[str, Any]:
    return answer("Nothing by that name.", {"allOf": [ref("FoundResponse")], "properties": {"found": {"const": False}}})


SCHEMAS: dict[str, Schema] = {
    "ErrorResponse": closed(
        {
            "error": {
                "allOf": [ERROR_CAUSE],
                "required": ["root_cause"],
                "properties": {
                    "root_cause": {"type": "array", "minItems": 1, "items": ERROR_CAUSE},
                    "caused_by": {**ERROR_CAUSE, "description": "The failure this one wraps, when it wraps one."},
                },
            },
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
        },
        ("error", "status"),
    ),
}
