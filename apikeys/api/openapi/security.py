"""The paths around the keys in the OpenAPI document (who am I, privilege checks, roles, application privileges,
tokens; users have `users`) and the schemas of their bodies and answers. Role descriptor and has-privileges schemas are
the privileges package's own, the ones the API validates with, so the document cannot drift from the server."""

from __future__ import annotations

from typing import Any

from apikeys.access.principals import API_KEY_MANAGED_BY
from apikeys.api.openapi.parts import (
    BOOLEAN_MAP,
    KEY_ID,
    NOT_FOUND_EMPTY,
    OBJECT,
    REALM,
    STRINGS,
    Schema,
    answer,
    closed,
    found_false,
    json_body,
    operation,
    param_refs,
    path_param,
    ref,
)
from apikeys.domain.privileges import (
    HAS_PRIVILEGES_SCHEMA,
    ROLE_DESCRIPTOR_SCHEMA,
    ROLE_DESCRIPTORS_SCHEMA,
    ROLE_SCHEMA,
)
from apikeys.domain.privileges.descriptors import normalize
from apikeys.services import tokens
from apikeys.services.app_privileges import ACTION_CHARACTERS


def embedded(schema: Schema) -> Schema:
    """One of the privileges package's schemas, embedded: `$schema` belongs only at the root of a document."""
    return {k: v for k, v in schema.items() if k != "$schema"}


# What every answer carries of a role: the normal form of an empty descriptor.
NORMAL_ROLE = normalize({})

SCHEMAS: dict[str, Schema] = {
    "RoleDescriptor": embedded(ROLE_DESCRIPTOR_SCHEMA),
    "PutRoleRequest": embedded(ROLE_SCHEMA),
    "RoleDescriptors": {
        "type": "object",
        "description": "Role name -> role descriptor.",
        "propertyNames": ROLE_DESCRIPTORS_SCHEMA["propertyNames"],
        "additionalProperties": ref("RoleDescriptor"),
    },
    "Role": {
        "description": "A role descriptor as answers carry it: normalized (`index` becomes `indices`, defaults filled in).",
        "allOf": [ref("RoleDescriptor")],
        "required": list(NORMAL_ROLE),
        "properties": {"index": False, "transient_metadata": {"const": NORMAL_ROLE["transient_metadata"]}},
    },
    "Roles": {
        "type": "object",
        "description": "Role name -> normalized role descriptor.",
        "additionalProperties": ref("Role"),
    },
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
            "authentication_type": {"enum": ["realm", "api_key", "token"]},
            "api_key": closed(
                {"id": KEY_ID, "name": {"type": "string"}, "managed_by": {"const": API_KEY_MANAGED_BY}},
                ("id", "name", "managed_by"),
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
    "PutPrivilegesRequest": {
        "type": "object",
        "minProperties": 1,
        "description": "Application -> privilege name -> definition.",
        "additionalProperties": {"type": "object", "additionalProperties": ref("PrivilegeDefinition")},
    },
    "PrivilegeDefinition": closed(
        {
            "application": {"type": "string", "description": "When given, the same as the enclosing name."},
            "name": {"type": "string", "description": "When given, the same as the enclosing name."},
            "actions": {
                **STRINGS,
                "minItems": 1,
                "description": f"Each contains one of {', '.join(f'`{c}`' for c in ACTION_CHARACTERS)}; an action name "
                "(`data:read/*`) or pattern.",
            },
            "metadata": {**OBJECT, "description": "Top-level keys may not start with `_`."},
        },
        ("actions",),
    ),
    "Privileges": {
        "type": "object",
        "description": "Application -> privilege name -> privilege.",
        "additionalProperties": {
            "type": "object",
            "additionalProperties": closed(
                {"application": {"type": "string"}, "name": {"type": "string"}, "actions": STRINGS, "metadata": OBJECT},
                ("application", "name", "actions", "metadata"),
            ),
        },
    },
    "PutPrivilegesResponse": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "additionalProperties": closed({"created": {"type": "boolean"}}, ("created",)),
        },
    },
    "DeletePrivilegesResponse": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "additionalProperties": closed({"found": {"type": "boolean"}}, ("found",)),
        },
    },
    "TokenRequest": closed(
        {
            "grant_type": {"enum": list(tokens.GRANT_FIELDS)},
            "username": {"type": "string", "description": "With `password`."},
            "password": {"type": "string", "description": "With `password`."},
            "refresh_token": {"type": "string", "description": "With `refresh_token`: used up by the refresh."},
            "scope": {"type": "string", "description": "Echoed; no scopes are defined."},
            "kerberos_ticket": {"type": "string", "description": "Accepted by the parser; no Kerberos realm here."},
        },
        ("grant_type",),
    ),
    "TokenResponse": closed(
        {
            "access_token": {"type": "string", "description": "For `Authorization: Bearer <access_token>`."},
            "type": {"const": "Bearer"},
            "expires_in": {"type": "integer", "description": "Seconds the access token lives."},
            "scope": {"type": "string"},
            "refresh_token": {
                "type": "string",
                "description": "Not for `client_credentials`: one new pair, once, within "
                "`APIKEYS_REFRESH_TOKEN_EXPIRATION_SECONDS`.",
            },
            "authentication": ref("AuthenticateResponse"),
        },
        ("access_token", "type", "expires_in", "authentication"),
    ),
    "TokenError": closed(
        {
            "error": {"enum": ["invalid_request", "unsupported_grant_type", "invalid_grant"]},
            "error_description": {"type": "string"},
        },
        ("error", "error_description"),
        description="OAuth2's error shape (RFC 6749 5.2), as Elasticsearch's token endpoint answers.",
    ),
    "InvalidateTokenRequest": closed(
        {
            "token": {"type": "string", "description": "An access token."},
            "refresh_token": {"type": "string"},
            "username": {"type": "string", "description": "Every token of this user."},
            "realm_name": {"type": "string", "description": "Every token of this realm's users."},
        },
        minProperties=1,
    ),
    "InvalidateTokenResponse": closed(
        {
            "invalidated_tokens": {"type": "integer", "minimum": 0},
            "previously_invalidated_tokens": {"type": "integer", "minimum": 0},
            "error_count": {"type": "integer", "minimum": 0},
            "error_details": {"type": "array", "items": OBJECT},
        },
        ("invalidated_tokens", "previously_invalidated_tokens", "error_count"),
    ),
    "FoundResponse": closed({"found": {"type": "boolean"}}, ("found",)),
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
        "/_security/oauth2/token": {
            "post": operation(
                "getToken",
                tag,
                "Get an access token (and a refresh token)",
                answer("The token, and whom it authenticates.", ref("TokenResponse")),
                body=json_body("TokenRequest", True),
                bad_request=answer(
                    "A malformed body (Elasticsearch's error shape), or a refused grant (OAuth2's).",
                    {"anyOf": [ref("ErrorResponse"), ref("TokenError")]},
                ),
            ),
            "delete": operation(
                "invalidateToken",
                tag,
                "Invalidate tokens",
                answer("How many tokens were invalidated.", ref("InvalidateTokenResponse")),
                body=json_body("InvalidateTokenRequest", True),
            ),
        },
    }


def role_paths() -> dict[str, Any]:
    tag = "Roles"
    name = path_param("name", "A role name (comma-separated names when getting).")
    put = {
        "ok": answer("Whether the role was created (else replaced).", ref("PutRoleResponse")),
        "body": json_body("PutRoleRequest", True),
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


def privilege_paths() -> dict[str, Any]:
    tag = "Application privileges"
    application = path_param("application", "An application name.")
    name = path_param("name", "A privilege name (comma-separated names).")
    put = {
        "ok": answer("Per application and name: whether it was created (else replaced).", ref("PutPrivilegesResponse")),
        "body": json_body("PutPrivilegesRequest", True),
    }
    get = "Get application privileges"
    none = answer("No privilege of that application (and name).", NOT_FOUND_EMPTY)
    return {
        "/_security/privilege": {
            "get": operation("getPrivileges", tag, get, answer("Every application privilege.", ref("Privileges"))),
            "put": operation("putPrivileges", tag, "Create or replace application privileges", **put),
            "post": operation("putPrivilegesWithPost", tag, "Create or replace application privileges", **put),
        },
        "/_security/privilege/": {
            "get": operation("getPrivilegesSlash", tag, get, answer("Every application privilege.", ref("Privileges"))),
            "put": operation("putPrivilegesSlash", tag, "Create or replace application privileges", **put),
            "post": operation("putPrivilegesSlashWithPost", tag, "Create or replace application privileges", **put),
        },
        "/_security/privilege/{application}": {
            "get": operation(
                "getApplicationPrivileges",
                tag,
                get,
                answer("The application's privileges.", ref("Privileges")),
                params=[*param_refs(), application],
                not_found=none,
            )
        },
        "/_security/privilege/{application}/{name}": {
            "get": operation(
                "getNamedPrivileges",
                tag,
                get,
                answer("The named privileges that exist.", ref("Privileges")),
                params=[*param_refs(), application, name],
                not_found=none,
            ),
            "delete": operation(
                "deletePrivileges",
                tag,
                "Delete application privileges",
                answer("Per name: whether it existed.", ref("DeletePrivilegesResponse")),
                params=[*param_refs(), application, name],
                not_found=answer("None of the named privileges existed.", ref("DeletePrivilegesResponse")),
            ),
        },
    }


def paths() -> dict[str, Any]:
    return {**caller_paths(), **role_paths(), **privilege_paths()}
