"""The JSON Schemas of the API's request and response bodies: the `components.schemas` of /openapi.json.

Role descriptor and has-privileges schemas are the privileges package's own, the ones the API validates with,
so the document cannot drift from what the server accepts. Response schemas describe what api.py returns,
fields it sometimes leaves out included (the API contract: `shared/spec/API.md` beside this repository).
"""

from __future__ import annotations

from typing import Any

from .privileges import HAS_PRIVILEGES_SCHEMA, ROLE_DESCRIPTOR_SCHEMA, ROLE_DESCRIPTORS_SCHEMA

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

API_KEY_PROPERTIES: dict[str, Schema] = {
    "id": KEY_ID,
    "name": {"type": "string"},
    "type": {"const": "rest"},
    "creation": MILLIS,
    "expiration": {**MILLIS, "description": "Epoch milliseconds; omitted when the key never expires."},
    "invalidated": {"type": "boolean"},
    "invalidation": {**MILLIS, "description": "Epoch milliseconds; omitted while the key is valid."},
    "username": {"type": "string"},
    "realm": {"type": "string"},
    "metadata": OBJECT,
    "role_descriptors": ref("Roles"),
    "limited_by": {
        "type": "array",
        "minItems": 1,
        "maxItems": 1,
        "items": ref("Roles"),
        "description": "Only with `with_limited_by=true`: the owner's roles when the key was created or last updated.",
    },
    "last_used": {**MILLIS, "description": "Epoch milliseconds; omitted when never recorded."},
}
API_KEY_REQUIRED = (
    "id",
    "name",
    "type",
    "creation",
    "invalidated",
    "username",
    "realm",
    "metadata",
    "role_descriptors",
)
SORT_ORDER: Schema = {"enum": ["asc", "desc"]}
SORT_ITEM: Schema = {
    "anyOf": [
        {"type": "string", "description": "A field name, ascending."},
        {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": {
                "anyOf": [
                    SORT_ORDER,
                    closed({"order": SORT_ORDER, "missing": {}, "unmapped_type": {}, "format": {}}),
                ]
            },
        },
    ]
}
UPDATE_PROPERTIES: dict[str, Schema] = {
    "role_descriptors": nullable(ref("RoleDescriptors")),
    "metadata": nullable(
        {**OBJECT, "description": "Replaces the whole metadata; top-level keys may not start with `_`."}
    ),
    "expiration": nullable(DURATION),
}


def role_descriptor_schema() -> Schema:
    """The privileges package's schema, embedded: `$schema` belongs only at the root of a schema document."""
    return {k: v for k, v in ROLE_DESCRIPTOR_SCHEMA.items() if k != "$schema"}


SCHEMAS: dict[str, Schema] = {
    "RoleDescriptor": role_descriptor_schema(),
    "RoleDescriptors": {
        "type": "object",
        "description": "Role name -> role descriptor.",
        "propertyNames": ROLE_DESCRIPTORS_SCHEMA["propertyNames"],
        "additionalProperties": ref("RoleDescriptor"),
    },
    "Role": {
        "description": "A role descriptor as answers carry it: normalized (`index` becomes `indices`, defaults filled in).",
        "allOf": [ref("RoleDescriptor")],
        "required": ["cluster", "indices", "applications", "run_as", "metadata", "transient_metadata"],
        "properties": {"index": False, "transient_metadata": {"const": {"enabled": True}}},
    },
    "Roles": {
        "type": "object",
        "description": "Role name -> normalized role descriptor.",
        "additionalProperties": ref("Role"),
    },
    "ApiKey": closed(API_KEY_PROPERTIES, API_KEY_REQUIRED),
    "ApiKeyHit": closed(
        {
            **API_KEY_PROPERTIES,
            "_sort": {
                "type": "array",
                "items": {"type": ["string", "integer", "boolean", "null"]},
                "description": "Only when the query gave a `sort`: each sort value (dates in epoch ms), then the key id.",
            },
        },
        API_KEY_REQUIRED,
    ),
    "CreateApiKeyRequest": closed(
        {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 256,
                "description": "No leading or trailing space, no leading `_`, no control characters.",
            },
            "expiration": nullable(DURATION),
            "role_descriptors": nullable(ref("RoleDescriptors")),
            "metadata": nullable({**OBJECT, "description": "Top-level keys may not start with `_`."}),
        },
        ("name",),
    ),
    "CreateApiKeyResponse": closed(
        {
            "id": KEY_ID,
            "name": {"type": "string"},
            "expiration": {**MILLIS, "description": "Epoch milliseconds; omitted when the key never expires."},
            "api_key": {"type": "string", "description": "The secret: shown once, never again."},
            "encoded": {
                "type": "string",
                "description": "Base64 of `id:api_key`, for `Authorization: ApiKey <encoded>`.",
            },
        },
        ("id", "name", "api_key", "encoded"),
    ),
    "GetApiKeysResponse": closed({"api_keys": {"type": "array", "items": ref("ApiKey")}}, ("api_keys",)),
    "QueryRequest": closed(
        {
            "query": nullable(
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "description": "One clause: bool, match_all, ids, term, terms, prefix, wildcard, match, range, "
                    "exists or simple_query_string, over name, type, username, realm_name, creation, expiration, "
                    "invalidated, invalidation, metadata.<path>.",
                }
            ),
            "from": {"type": "integer", "minimum": 0, "default": 0},
            "size": {"type": "integer", "minimum": 0, "default": 10, "description": "`from + size` is at most 10,000."},
            "sort": nullable({"anyOf": [SORT_ITEM, {"type": "array", "items": SORT_ITEM}]}),
            "search_after": {"type": "array", "description": "The `_sort` of the last hit of the previous page."},
            "aggs": {"type": "object", "additionalProperties": OBJECT},
            "aggregations": {"type": "object", "additionalProperties": OBJECT},
        }
    ),
    "QueryResponse": closed(
        {
            "total": {"type": "integer", "minimum": 0},
            "count": {"type": "integer", "minimum": 0},
            "api_keys": {"type": "array", "items": ref("ApiKeyHit")},
            "aggregations": {**OBJECT, "description": "Only when the request asked for aggregations."},
        },
        ("total", "count", "api_keys"),
    ),
    "UpdateRequest": closed(UPDATE_PROPERTIES),
    "UpdateResponse": closed({"updated": {"type": "boolean"}}, ("updated",)),
    "BulkUpdateRequest": closed(
        {"ids": {"anyOf": [{"type": "string"}, {**STRINGS, "minItems": 1}]}, **UPDATE_PROPERTIES}, ("ids",)
    ),
    "BulkUpdateResponse": closed(
        {
            "updated": STRINGS,
            "noops": STRINGS,
            "errors": closed(
                {
                    "count": {"type": "integer", "minimum": 1},
                    "details": {"type": "object", "additionalProperties": ERROR_CAUSE},
                },
                ("count", "details"),
                description="Only when some keys could not be updated: key id -> error.",
            ),
        },
        ("updated", "noops"),
    ),
    "InvalidateRequest": closed(
        {
            "ids": nullable({**STRINGS, "minItems": 1}),
            "id": nullable({"type": "string"}),
            "name": nullable({"type": "string", "description": "`*` is every key; a trailing `*` matches a prefix."}),
            "username": nullable({"type": "string"}),
            "realm_name": nullable({"type": "string"}),
            "owner": {"type": "boolean", "default": False},
        }
    ),
    "InvalidateResponse": closed(
        {
            "invalidated_api_keys": STRINGS,
            "previously_invalidated_api_keys": STRINGS,
            "error_count": {"type": "integer", "minimum": 0},
            "error_details": {"type": "array", "items": ERROR_CAUSE},
        },
        ("invalidated_api_keys", "previously_invalidated_api_keys", "error_count"),
    ),
    "GrantRequest": closed(
        {
            "grant_type": {"const": "password"},
            "username": {"type": "string", "minLength": 1},
            "password": {"type": "string", "minLength": 1},
            "run_as": nullable({"type": "string", "description": "A user the granted user may run as: owns the key."}),
            "api_key": ref("CreateApiKeyRequest"),
        },
        ("grant_type", "username", "password", "api_key"),
    ),
    "AuthenticateResponse": closed(
        {
            "username": {"type": "string"},
            "roles": {**STRINGS, "description": "Empty when an API key authenticated."},
            "full_name": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "metadata": OBJECT,
            "enabled": {"type": "boolean"},
            "authentication_realm": REALM,
            "lookup_realm": REALM,
            "authentication_type": {"enum": ["realm", "api_key"]},
            "api_key": closed(
                {"id": KEY_ID, "name": {"type": "string"}, "managed": {"const": True}},
                ("id", "name"),
                description="Only when an API key authenticated.",
            ),
        },
        (
            "username",
            "roles",
            "full_name",
            "email",
            "metadata",
            "enabled",
            "authentication_realm",
            "lookup_realm",
            "authentication_type",
        ),
    ),
    "HasPrivilegesRequest": HAS_PRIVILEGES_SCHEMA,
    "HasPrivilegesResponse": closed(
        {
            "username": {"type": "string"},
            "has_all_requested": {"type": "boolean"},
            "cluster": BOOLEAN_MAP,
            "index": {"type": "object", "additionalProperties": BOOLEAN_MAP},
            "application": {
                "type": "object",
                "description": "Application -> resource -> privilege -> granted.",
                "additionalProperties": {"type": "object", "additionalProperties": BOOLEAN_MAP},
            },
        },
        ("username", "has_all_requested", "cluster", "index", "application"),
    ),
    "PutRoleResponse": closed({"role": closed({"created": {"type": "boolean"}}, ("created",))}, ("role",)),
    "User": closed(
        {
            "username": {"type": "string"},
            "roles": STRINGS,
            "full_name": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "metadata": OBJECT,
            "enabled": {"type": "boolean"},
        },
        ("username", "roles", "full_name", "email", "metadata", "enabled"),
    ),
    "Users": {"type": "object", "description": "Username -> user.", "additionalProperties": ref("User")},
    "PutUserRequest": closed(
        {
            "password": nullable({"type": "string", "description": "Required when the user is created."}),
            "roles": nullable(STRINGS),
            "full_name": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "metadata": nullable({**OBJECT, "description": "Top-level keys may not start with `_`."}),
            "enabled": {"type": ["boolean", "null"]},
        }
    ),
    "PutUserResponse": closed({"created": {"type": "boolean"}}, ("created",)),
    "FoundResponse": closed({"found": {"type": "boolean"}}, ("found",)),
    "ClearCacheResponse": closed(
        {
            "_nodes": closed(
                {"total": {"type": "integer"}, "successful": {"type": "integer"}, "failed": {"type": "integer"}},
                ("total", "successful", "failed"),
            ),
            "cluster_name": {"type": "string"},
        },
        ("_nodes", "cluster_name"),
    ),
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
