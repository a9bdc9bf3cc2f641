"""The API key paths of the OpenAPI document, and the schemas of their bodies and answers."""

from __future__ import annotations

from typing import Any

from apikeys.api.openapi.parts import (
    DURATION,
    ERROR_CAUSE,
    FLAG,
    KEY_ID,
    MILLIS,
    OBJECT,
    STRINGS,
    Schema,
    answer,
    closed,
    json_body,
    nullable,
    operation,
    param_refs,
    path_param,
    query_param,
    ref,
    response_ref,
)
from apikeys.domain.privileges.cross_cluster import ACCESS_SCHEMA

TAG = "API keys"
API_KEY_PROPERTIES: dict[str, Schema] = {
    "id": KEY_ID,
    "name": {"type": "string"},
    "type": {"enum": ["rest", "cross_cluster"]},
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
    "access": {
        "allOf": [ref("Access")],
        "description": "Only for a cross-cluster key: its access, normalized (`query` as a JSON string).",
    },
    "last_used": {**MILLIS, "description": "Epoch milliseconds; omitted when never recorded."},
    "rolled_from": {**KEY_ID, "description": "Ours: the key this one replaced (`_roll`); omitted otherwise."},
    "rolled_to": {**KEY_ID, "description": "Ours: the key that replaced this one (`_roll`); omitted otherwise."},
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
NAME: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 256,
    "description": "No leading or trailing space, no leading `_`, no control characters.",
}
GRANT_CREDENTIALS: dict[str, Schema] = {
    "grant_type": {"enum": ["password", "access_token"]},
    "username": {"type": "string", "minLength": 1, "description": "With `password`: the user the key is for."},
    "password": {"type": "string", "minLength": 1},
    "access_token": {
        "type": "string",
        "minLength": 1,
        "description": "With `access_token`: a token of the user the key is for (`/_security/oauth2/token`).",
    },
    "run_as": nullable({"type": "string", "description": "A user the granted user may run as: owns the key."}),
}
GRANT_RULES = [
    {
        "if": {"properties": {"grant_type": {"const": "password"}}},
        "then": {"required": ["username", "password"], "not": {"required": ["access_token"]}},
        "else": {"required": ["access_token"], "properties": {"username": False, "password": False}},
    }
]
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


def access_schema() -> Schema:
    """The privileges package's schema, embedded: `$schema` belongs only at the root of a schema document."""
    return {k: v for k, v in ACCESS_SCHEMA.items() if k != "$schema"}


SCHEMAS: dict[str, Schema] = {
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
            "name": NAME,
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
            "rolled_from": {**KEY_ID, "description": "Only from `_roll`: the key this one replaces."},
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
    "Access": access_schema(),
    "CreateCrossClusterApiKeyRequest": closed(
        {
            "name": NAME,
            "access": ref("Access"),
            "expiration": nullable(DURATION),
            "metadata": nullable({**OBJECT, "description": "Top-level keys may not start with `_`."}),
        },
        ("name", "access"),
    ),
    "UpdateCrossClusterApiKeyRequest": closed(
        {
            "access": nullable({"allOf": [ref("Access")], "description": "Replaces the whole access."}),
            "metadata": UPDATE_PROPERTIES["metadata"],
            "expiration": nullable(DURATION),
        },
        minProperties=1,
        description="At least one of `access`, `metadata`, `expiration`; omitted fields stay.",
    ),
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
        {**GRANT_CREDENTIALS, "api_key": ref("CreateApiKeyRequest")}, ("grant_type", "api_key"), allOf=GRANT_RULES
    ),
    "BulkGrantRequest": closed(
        {
            **GRANT_CREDENTIALS,
            "api_keys": {"type": "array", "minItems": 1, "items": ref("CreateApiKeyRequest")},
        },
        ("grant_type", "api_keys"),
        allOf=GRANT_RULES,
    ),
    "BulkGrantResponse": closed(
        {"created": {"type": "array", "items": ref("CreateApiKeyResponse"), "description": "In request order."}},
        ("created",),
    ),
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
}


def get_key_params() -> list[dict[str, Any]]:
    string = {"type": "string"}
    return param_refs("with_limited_by", "with_profile_uid") + [
        query_param("id", string, "A key id; not found is a 404 with an empty `api_keys`."),
        query_param("name", string, "A key name; `*` is every key, a trailing `*` matches a prefix."),
        query_param("username", string, "The owner's username."),
        query_param("realm_name", string, "The owner's realm."),
        query_param("owner", FLAG, "Only the caller's own keys."),
        query_param("active_only", FLAG, "Leave out invalidated and expired keys."),
    ]


def query_params() -> list[dict[str, Any]]:
    return param_refs("with_limited_by", "with_profile_uid") + [
        query_param("typed_keys", FLAG, "Prefix aggregation names with their type (`sterms#name`)."),
    ]


def paths() -> dict[str, Any]:
    create = {
        "body": json_body("CreateApiKeyRequest", True),
        "ok": answer("The new key, with its secret.", ref("CreateApiKeyResponse")),
    }
    key_id = path_param("key_id", "The key id.")
    search = {
        "ok": answer("The matching keys, a page of them.", ref("QueryResponse")),
        "body": json_body("QueryRequest", False, "Omitted: every visible key, 10 at a time."),
        "params": query_params(),
    }
    tag = TAG
    return {
        "/_security/api_key": {
            "get": operation(
                "getApiKeys",
                tag,
                "Get API keys",
                answer("The keys the caller may see that match.", ref("GetApiKeysResponse")),
                params=get_key_params(),
                not_found=answer(
                    "An `id` was given and no such key is visible.",
                    closed({"api_keys": {"type": "array", "maxItems": 0}}, ("api_keys",)),
                ),
            ),
            "post": operation("createApiKey", tag, "Create an API key", **create),
            "put": operation("createApiKeyWithPut", tag, "Create an API key", **create),
            "delete": operation(
                "invalidateApiKeys",
                tag,
                "Invalidate API keys",
                answer("What was invalidated; nothing matched is not an error.", ref("InvalidateResponse")),
                body=json_body("InvalidateRequest", True),
            ),
        },
        "/_security/api_key/_bulk_update": {
            "post": operation(
                "bulkUpdateApiKeys",
                tag,
                "Update several of the caller's API keys",
                answer("Per key: updated, unchanged, or an error.", ref("BulkUpdateResponse")),
                body=json_body("BulkUpdateRequest", True),
            )
        },
        "/_security/api_key/grant": {
            "post": operation(
                "grantApiKey",
                tag,
                "Create an API key for another user, given that user's password",
                answer("The new key, with its secret.", ref("CreateApiKeyResponse")),
                body=json_body("GrantRequest", True),
            )
        },
        "/_security/api_key/_bulk_grant": {
            "post": operation(
                "bulkGrantApiKeys",
                tag,
                "Create several API keys for another user, given that user's credentials once",
                answer("The new keys, with their secrets, in request order.", ref("BulkGrantResponse")),
                body=json_body("BulkGrantRequest", True),
            )
        },
        "/_security/api_key/{ids}/_clear_cache": {
            "post": operation(
                "clearApiKeyCache",
                tag,
                "Evict keys from the verified-key cache",
                answer("Done.", ref("ClearCacheResponse")),
                params=[*param_refs(), path_param("ids", "Comma-separated key ids, or `*` for every key.")],
            )
        },
        "/_security/api_key/{key_id}": {
            "put": operation(
                "updateApiKey",
                tag,
                "Update one of the caller's API keys",
                answer("Whether anything changed.", ref("UpdateResponse")),
                body=json_body(
                    "UpdateRequest", False, "Omitted fields stay; omitted body: only re-snapshot the owner's roles."
                ),
                params=[*param_refs(), key_id],
                not_found=response_ref("NotFound"),
            )
        },
        "/_security/cross_cluster/api_key": {
            "post": operation(
                "createCrossClusterApiKey",
                tag,
                "Create a cross-cluster API key (for a remote cluster; it cannot call this API)",
                answer("The new key, with its secret.", ref("CreateApiKeyResponse")),
                body=json_body("CreateCrossClusterApiKeyRequest", True),
            )
        },
        "/_security/cross_cluster/api_key/{key_id}": {
            "put": operation(
                "updateCrossClusterApiKey",
                tag,
                "Update one of the caller's cross-cluster API keys",
                answer("Whether anything changed.", ref("UpdateResponse")),
                body=json_body("UpdateCrossClusterApiKeyRequest", True),
                params=[*param_refs(), key_id],
                not_found=response_ref("NotFound"),
            )
        },
        "/_security/_query/api_key": {
            "get": operation("queryApiKeys", tag, "Query API keys", **search),
            "post": operation("queryApiKeysWithPost", tag, "Query API keys", **search),
        },
    }
