"""The pieces every part of the OpenAPI document is built from: schema shorthands, answers, parameters,
operations with the error answers every endpoint can give."""

from __future__ import annotations

from typing import Any

from apikeys.domain.errors import WWW_AUTHENTICATE

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


STRINGS: Schema = {"type": "array", "items": {"type": "string"}}
MILLIS: Schema = {"type": "integer", "description": "Epoch milliseconds."}
OBJECT: Schema = {"type": "object"}
KEY_ID: Schema = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_-]{20}$",
    "description": "20 characters of URL-safe base64.",
}
DURATION: Schema = {
    "type": "string",
    "description": "A time value: an integer and a unit (`nanos micros ms s m h d`), e.g. `30m`, `7d`. "
    "Omitted or null: the key never expires.",
    "examples": ["1d"],
}
BOOLEAN_MAP: Schema = {"type": "object", "additionalProperties": {"type": "boolean"}}
REALM: Schema = closed({"name": {"type": "string"}, "type": {"type": "string"}}, ("name", "type"))
ERROR_CAUSE: Schema = {
    "type": "object",
    "required": ["type", "reason"],
    "properties": {
        "type": {"type": "string", "examples": ["action_request_validation_exception"]},
        "reason": {"type": "string"},
        "path": {"type": "string", "description": "Where in a role descriptor the problem is."},
    },
}


NOT_FOUND_EMPTY: Schema = {"type": "object", "maxProperties": 0}

PRODUCT_HEADER = {"X-Elastic-Product": {"$ref": "#/components/headers/X-Elastic-Product"}}


def answer(description: str, schema: Schema, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {**PRODUCT_HEADER, **(headers or {})},
        "content": {"application/json": {"schema": schema}},
    }


def error_answer(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return answer(description, ref("ErrorResponse"), headers)


RESPONSES: dict[str, Any] = {
    "BadRequest": error_answer("Malformed request: bad JSON, an unknown field or parameter, or a failed validation."),
    "Unauthenticated": error_answer(
        "Missing or wrong credentials (`security_exception`).",
        {"WWW-Authenticate": {"schema": {"const": WWW_AUTHENTICATE}, "description": "The schemes to retry with."}},
    ),
    "Forbidden": error_answer("The caller lacks the privilege (`security_exception`)."),
    "NotFound": error_answer("Not found (`resource_not_found_exception`)."),
    "MethodNotAllowed": error_answer(
        "Another method than those this path accepts.",
        {"Allow": {"schema": {"type": "string"}, "description": "The accepted methods, comma-separated."}},
    ),
    "ContentTooLarge": error_answer("The request body is over the size limit (`content_too_long_exception`)."),
    "TooManyRequests": error_answer(
        "Too many failed authentications from this client or for this key id (`too_many_requests`).",
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
COMMON = ("pretty", "human", "error_trace", "refresh", "filter_path")


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
    """One operation with the error answers every endpoint can give: 400, 401, (403), (404), 405, 413, 429.
    `extension` describes an operation of ours that Elasticsearch does not have (marked `x-extension`)."""
    responses: dict[str, Any] = {
        "200": ok,
        "400": bad_request or response_ref("BadRequest"),
        "401": response_ref("Unauthenticated"),
    }
    if forbidden:
        responses["403"] = response_ref("Forbidden")
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
                "properties": {"root_cause": {"type": "array", "minItems": 1, "items": ERROR_CAUSE}},
            },
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
        },
        ("error", "status"),
    ),
}
