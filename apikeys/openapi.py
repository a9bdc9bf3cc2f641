"""The OpenAPI 3.1 document of the JSON API, served at /openapi.json: every path of api_urls.py, with its
parameters, bodies and answers. The body schemas are in openapi_schemas.py."""

from __future__ import annotations

from typing import Any

from .errors import WWW_AUTHENTICATE
from .openapi_schemas import SCHEMAS, Schema, closed, ref

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
) -> dict[str, Any]:
    """One operation with the error answers every endpoint can give: 400, 401, (403), (404), 405, 413, 429."""
    responses: dict[str, Any] = {"200": ok, "400": response_ref("BadRequest"), "401": response_ref("Unauthenticated")}
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
    return out


def found_false() -> dict[str, Any]:
    return answer("Nothing by that name.", {"allOf": [ref("FoundResponse")], "properties": {"found": {"const": False}}})


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


def api_key_paths() -> dict[str, Any]:
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
    tag = "API keys"
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
        "/_security/_query/api_key": {
            "get": operation("queryApiKeys", tag, "Query API keys", **search),
            "post": operation("queryApiKeysWithPost", tag, "Query API keys", **search),
        },
    }


def caller_paths() -> dict[str, Any]:
    tag = "Authentication"
    check = {
        "ok": answer("Which of the requested privileges the caller holds.", ref("HasPrivilegesResponse")),
        "body": json_body("HasPrivilegesRequest", False),
        "forbidden": False,
    }
    return {
        "/_security/_authenticate": {
            "get": operation(
                "authenticate",
                tag,
                "Who the caller is",
                answer("The authenticated user, and the key when a key was used.", ref("AuthenticateResponse")),
                forbidden=False,
            )
        },
        "/_security/user/_has_privileges": {
            "get": operation("hasPrivileges", tag, "Check the caller's privileges", **check),
            "post": operation("hasPrivilegesWithPost", tag, "Check the caller's privileges", **check),
        },
    }


def role_paths() -> dict[str, Any]:
    tag = "Roles"
    name = path_param("name", "A role name (comma-separated names when getting).")
    put = {
        "ok": answer("Whether the role was created (else replaced).", ref("PutRoleResponse")),
        "body": json_body("RoleDescriptor", True),
        "params": [*param_refs(), name],
    }
    found = answer("The role was deleted.", ref("FoundResponse"))
    return {
        "/_security/role": {"get": operation("getRoles", tag, "Get every role", answer("Every role.", ref("Roles")))},
        "/_security/role/{name}": {
            "get": operation(
                "getRole",
                tag,
                "Get roles by name",
                answer("The roles that exist among those named.", ref("Roles")),
                params=[*param_refs(), name],
                not_found=answer("None of the named roles exists.", NOT_FOUND_EMPTY),
            ),
            "put": operation("putRole", tag, "Create or replace a role", **put),
            "post": operation("putRoleWithPost", tag, "Create or replace a role", **put),
            "delete": operation(
                "deleteRole", tag, "Delete a role", found, params=[*param_refs(), name], not_found=found_false()
            ),
        },
    }


def user_paths() -> dict[str, Any]:
    tag = "Users"
    username = path_param("username", "A username (comma-separated usernames when getting).")
    put = {
        "ok": answer("Whether the user was created (else updated).", ref("PutUserResponse")),
        "body": json_body("PutUserRequest", True),
        "params": [*param_refs(), username],
    }
    found = answer("The user was deleted.", ref("FoundResponse"))
    return {
        "/_security/user": {"get": operation("getUsers", tag, "Get every user", answer("Every user.", ref("Users")))},
        "/_security/user/{username}": {
            "get": operation(
                "getUser",
                tag,
                "Get users by username",
                answer("The users that exist among those named.", ref("Users")),
                params=[*param_refs(), username],
                not_found=answer("None of the named users exists.", NOT_FOUND_EMPTY),
            ),
            "put": operation("putUser", tag, "Create or update a user", **put),
            "post": operation("putUserWithPost", tag, "Create or update a user", **put),
            "delete": operation(
                "deleteUser", tag, "Delete a user", found, params=[*param_refs(), username], not_found=found_false()
            ),
        },
    }


def build_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "API key console: Elasticsearch-compatible security API",
            "version": "1.0.0",
            "description": "The paths, bodies and answers of Elasticsearch's security API for API keys, roles "
            "and users. Every answer carries `X-Elastic-Product: Elasticsearch`.",
        },
        "security": [{"ApiKey": []}, {"basic": []}],
        "tags": [{"name": name} for name in ("API keys", "Authentication", "Roles", "Users")],
        "paths": {**api_key_paths(), **caller_paths(), **role_paths(), **user_paths()},
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "parameters": PARAMETERS,
            "headers": {
                "X-Elastic-Product": {"schema": {"const": "Elasticsearch"}, "description": "Always `Elasticsearch`."}
            },
            "securitySchemes": {
                "ApiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Authorization: ApiKey <encoded>`, the scheme word included; `encoded` comes "
                    "from the create answer.",
                },
                "basic": {"type": "http", "scheme": "basic", "description": "A native user's username and password."},
            },
        },
    }
