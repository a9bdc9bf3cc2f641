"""The API key paths of the OpenAPI document, and the schemas of their bodies and answers: the fields, key types,
name limit and grant types are the services' own."""

from __future__ import annotations

from typing import Any

from apikeys.api.openapi.leaks import ALLOWED_IPS, ALLOWED_IPS_ANSWER, LEAKED
from apikeys.api.openapi.parts import (
    DURATION,
    ERROR_CAUSE,
    FLAG,
    KEY_ID,
    MILLIS,
    OBJECT,
    STRINGS,
    TAG,
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
from apikeys.models import KeyType
from apikeys.services import CLONED_FROM, MAX_NAME_LENGTH
from apikeys.services.create import (
    CLIENT_AUTHENTICATION_FIELDS,
    CLIENT_AUTHENTICATION_GRANT_TYPE,
    GRANT_CREDENTIALS,
    SHARED_SECRET_SCHEME,
)

API_KEY_PROPERTIES: dict[str, Schema] = {
    "id": KEY_ID,
    "name": {"type": "string"},
    "type": {"enum": list(KeyType.values)},
    "creation": MILLIS,
    "expiration": {**MILLIS, "description": "Epoch milliseconds; omitted when the key never expires."},
    "invalidated": {"type": "boolean"},
    "invalidation": {**MILLIS, "description": "Epoch milliseconds; omitted while the key is valid."},
    "username": {"type": "string"},
    "realm": {"type": "string"},
    "realm_type": {"type": "string", "description": "`native`, `_service_account`, or `oidc` for a provider's users."},
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
    "certificate_identity": {"type": "string", "description": "Only for a cross-cluster key that has one."},
    "last_used": {**MILLIS, "description": "Epoch milliseconds; omitted when never recorded."},
    "rolled_from": {**KEY_ID, "description": "Ours: the key this one replaced (`_roll`); omitted otherwise."},
    "rolled_to": {**KEY_ID, "description": "Ours: the key that replaced this one (`_roll`); omitted otherwise."},
    "allowed_ips": ALLOWED_IPS_ANSWER,
    "leaked": LEAKED,
}
API_KEY_REQUIRED = (
    "id",
    "name",
    "type",
    "creation",
    "invalidated",
    "username",
    "realm",
    "realm_type",
    "metadata",
    "role_descriptors",
)
NAME: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME_LENGTH,
    "description": "No leading or trailing space, no leading `_`, no control characters.",
}
GRANT_PROPERTIES: dict[str, Schema] = {
    "grant_type": {"enum": list(GRANT_CREDENTIALS)},
    "username": {"type": "string", "minLength": 1, "description": "With `password`: the user the key is for."},
    "password": {"type": "string", "minLength": 1},
    "access_token": {
        "type": "string",
        "minLength": 1,
        "description": "With `access_token`: a token of the user the key is for (`/_security/oauth2/token`).",
    },
    "run_as": nullable({"type": "string", "description": "A user the granted user may run as: owns the key."}),
    "client_authentication": nullable(
        closed(
            {field: {"type": "string"} for field in CLIENT_AUTHENTICATION_FIELDS},
            CLIENT_AUTHENTICATION_FIELDS,
            description=f"With `{CLIENT_AUTHENTICATION_GRANT_TYPE}` only, scheme `{SHARED_SECRET_SCHEME}`: a JWT's "
            "client credential. This server issues no JWT: with one of its own tokens the grant is refused (400).",
        )
    ),
}


def grant_rules() -> list[Schema]:
    """Per grant type, the credentials it needs; the other grant types' credentials (and client authentication,
    but with an access token) are refused."""
    credentials = {name for needed in GRANT_CREDENTIALS.values() for name in needed}
    rules = []
    for grant_type, needed in GRANT_CREDENTIALS.items():
        refused = sorted(credentials - set(needed))
        if grant_type != CLIENT_AUTHENTICATION_GRANT_TYPE:
            refused.append("client_authentication")
        rules.append(
            {
                "if": {"properties": {"grant_type": {"const": grant_type}}, "required": ["grant_type"]},
                "then": {"required": list(needed), "properties": dict.fromkeys(refused, False)},
            }
        )
    return rules


CREATE_EXPIRATION: Schema = nullable(
    {
        **DURATION,
        "description": f"{DURATION['description']} Omitted or null: `APIKEYS_DEFAULT_EXPIRATION`, or never expires "
        "when that is unset. At most `APIKEYS_MAX_EXPIRATION`.",
    }
)
UPDATE_EXPIRATION: Schema = nullable(
    {
        **DURATION,
        "description": f"{DURATION['description']} Omitted or null: unchanged. At most `APIKEYS_MAX_EXPIRATION`.",
    }
)
UPDATE_PROPERTIES: dict[str, Schema] = {
    "role_descriptors": nullable(ref("RoleDescriptors")),
    "metadata": nullable(
        {
            **OBJECT,
            "description": f"Replaces the whole metadata but the server's own `{CLONED_FROM}`; top-level keys "
            "may not start with `_`.",
        }
    ),
    "expiration": UPDATE_EXPIRATION,
    "allowed_ips": ALLOWED_IPS,
}


SCHEMAS: dict[str, Schema] = {
    "ApiKey": closed(API_KEY_PROPERTIES, API_KEY_REQUIRED),
    "CreateApiKeyRequest": closed(
        {
            "name": NAME,
            "expiration": CREATE_EXPIRATION,
            "role_descriptors": nullable(ref("RoleDescriptors")),
            "metadata": nullable({**OBJECT, "description": "Top-level keys may not start with `_`."}),
            "allowed_ips": ALLOWED_IPS,
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
    "CloneApiKeyRequest": closed(
        {
            "api_key": {"type": "string", "description": "The source key's `encoded` credential (a user key)."},
            "name": NAME,
            "expiration": nullable(
                {
                    **DURATION,
                    "description": f"{DURATION['description']} Omitted: the source's expiration; null: never "
                    "expires. At most `APIKEYS_MAX_EXPIRATION`.",
                }
            ),
            "metadata": {
                **OBJECT,
                "description": "Omitted: the source's. Top-level keys may not start with `_`; the clone's metadata "
                f"gets `{CLONED_FROM}`: the source's id.",
            },
        },
        ("api_key", "name"),
    ),
    "GetApiKeysResponse": closed({"api_keys": {"type": "array", "items": ref("ApiKey")}}, ("api_keys",)),
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
        {**GRANT_PROPERTIES, "api_key": ref("CreateApiKeyRequest")}, ("grant_type", "api_key"), allOf=grant_rules()
    ),
    "BulkGrantRequest": closed(
        {
            **GRANT_PROPERTIES,
            "api_keys": {"type": "array", "minItems": 1, "items": ref("CreateApiKeyRequest")},
        },
        ("grant_type", "api_keys"),
        allOf=grant_rules(),
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


KEY_ID_PARAM = path_param("key_id", "The key id.")


def key_paths() -> dict[str, Any]:
    """Get, create, invalidate and update keys."""
    create = {
        "body": json_body("CreateApiKeyRequest", True),
        "ok": answer("The new key, with its secret.", ref("CreateApiKeyResponse")),
    }
    return {
        "/_security/api_key": {
            "get": operation(
                "getApiKeys",
                TAG,
                "Get API keys",
                answer("The keys the caller may see that match.", ref("GetApiKeysResponse")),
                params=get_key_params(),
                not_found=answer(
                    "An `id` was given and no such key is visible.",
                    closed({"api_keys": {"type": "array", "maxItems": 0}}, ("api_keys",)),
                ),
            ),
            "post": operation("createApiKey", TAG, "Create an API key", **create),
            "put": operation("createApiKeyWithPut", TAG, "Create an API key", **create),
            "delete": operation(
                "invalidateApiKeys",
                TAG,
                "Invalidate API keys",
                answer("What was invalidated; nothing matched is not an error.", ref("InvalidateResponse")),
                body=json_body("InvalidateRequest", True),
            ),
        },
        "/_security/api_key/_bulk_update": {
            "post": operation(
                "bulkUpdateApiKeys",
                TAG,
                "Update several of the caller's API keys",
                answer("Per key: updated, unchanged, or an error.", ref("BulkUpdateResponse")),
                body=json_body("BulkUpdateRequest", True),
            )
        },
        "/_security/api_key/{key_id}": {
            "put": operation(
                "updateApiKey",
                TAG,
                "Update one of the caller's API keys",
                answer("Whether anything changed.", ref("UpdateResponse")),
                body=json_body(
                    "UpdateRequest", False, "Omitted fields stay; omitted body: only re-snapshot the owner's roles."
                ),
                params=[*param_refs(), KEY_ID_PARAM],
                not_found=response_ref("NotFound"),
            )
        },
    }


def clone_path() -> dict[str, Any]:
    """Elasticsearch 9.4's clone, on both of its methods."""
    summary = "Clone an API key, given its credential: its role descriptors, limits and owner"
    description = (
        "Needs `clone_api_key` (or `manage_api_key` and above). A source credential that does not authenticate "
        "(wrong secret, invalidated, expired, a cross-cluster key) is a 403 `Failed to clone API key`, its "
        "`caused_by` saying why; a credential that is not one (`id:secret` in base64) is a 400."
    )
    methods = {}
    for method, operation_id in (("post", "cloneApiKey"), ("put", "cloneApiKeyWithPut")):
        methods[method] = operation(
            operation_id,
            TAG,
            summary,
            answer("The clone, with its secret.", ref("CreateApiKeyResponse")),
            body=json_body("CloneApiKeyRequest", True),
        )
        methods[method]["description"] = description
    return methods


def grant_paths() -> dict[str, Any]:
    """Keys made for another user, and the verified-key cache."""
    return {
        "/_security/api_key/grant": {
            "post": operation(
                "grantApiKey",
                TAG,
                "Create an API key for another user, given that user's password",
                answer("The new key, with its secret.", ref("CreateApiKeyResponse")),
                body=json_body("GrantRequest", True),
            )
        },
        "/_security/api_key/clone": clone_path(),
        "/_security/api_key/_bulk_grant": {
            "post": operation(
                "bulkGrantApiKeys",
                TAG,
                "Create several API keys for another user, given that user's credentials once",
                answer("The new keys, with their secrets, in request order.", ref("BulkGrantResponse")),
                body=json_body("BulkGrantRequest", True),
            )
        },
        "/_security/api_key/{ids}/_clear_cache": {
            "post": operation(
                "clearApiKeyCache",
                TAG,
                "Evict keys from the verified-key cache",
                answer("Done.", ref("ClearCacheResponse")),
                params=[*param_refs(), path_param("ids", "Comma-separated key ids, or `*` for every key.")],
            )
        },
    }


def paths() -> dict[str, Any]:
    return {**key_paths(), **grant_paths()}
