"""The user paths in the OpenAPI document (get, put, delete, change a password, enable, disable) and the schemas of
their bodies and answers, from the constants the user service enforces."""

from __future__ import annotations

from typing import Any

from apikeys.api.openapi.parts import (
    NOT_FOUND_EMPTY,
    OBJECT,
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
from apikeys.domain import passwords
from apikeys.services.users import MIN_PASSWORD_LENGTH, TEXT_LIMITS

PASSWORD: Schema = {"type": "string", "minLength": MIN_PASSWORD_LENGTH}
PASSWORD_HASH: Schema = {
    "type": "string",
    "description": "Instead of `password`: an Elasticsearch PBKDF2 hash of it (`{PBKDF2}<cost>$<salt>$<hash>` or "
    f"`{{PBKDF2_STRETCH}}…`), of one of the algorithms {', '.join(f'`{n}`' for n in passwords.algorithm_names())}. "
    "bcrypt hashes are refused.",
}

SCHEMAS: dict[str, Schema] = {
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
            "username": {"type": "string", "description": "When given, the username of the path."},
            "password": {**PASSWORD, "description": "Required when the user is created; kept when not given."},
            "password_hash": PASSWORD_HASH,
            "roles": {
                "anyOf": [STRINGS, {"type": "string", "description": "Comma-separated role names."}],
                "description": "Replaces the user's roles.",
            },
            **{
                name: {"type": ["string", "null"], "maxLength": limit, "description": "Cleared when not given."}
                for name, limit in TEXT_LIMITS.items()
            },
            "metadata": {**OBJECT, "description": "Top-level keys may not start with `_`; cleared when not given."},
            "enabled": {"type": "boolean", "description": "True when not given."},
        },
        ("roles",),
        description="The whole user: what is not given is cleared (the password is kept).",
    ),
    "PutUserResponse": closed({"created": {"type": "boolean"}}, ("created",)),
    "ChangePasswordRequest": closed(
        {"password": PASSWORD, "password_hash": PASSWORD_HASH}, minProperties=1, maxProperties=1
    ),
    "EmptyResponse": {"type": "object", "maxProperties": 0, "description": "Done: `{}`."},
}


TAG = "Users"
DONE = answer("Done.", ref("EmptyResponse"))
ONE_USER = path_param("username", "A username.")


def user_paths() -> dict[str, Any]:
    username = path_param("username", "A username (comma-separated usernames when getting).")
    put = {
        "ok": answer("Whether the user was created (else overwritten).", ref("PutUserResponse")),
        "body": json_body("PutUserRequest", True),
        "params": [*param_refs(), username],
    }
    found = answer("The user was deleted.", ref("FoundResponse"))
    return {
        "/_security/user": {
            "get": operation(
                "getUsers",
                TAG,
                "Get every user",
                answer("Every user.", ref("Users")),
                params=param_refs("with_profile_uid"),
            )
        },
        "/_security/user/{username}": {
            "get": operation(
                "getUser",
                TAG,
                "Get users by username",
                answer("The users that exist among those named.", ref("Users")),
                params=[*param_refs("with_profile_uid"), username],
                not_found=answer("None of the named users exists.", NOT_FOUND_EMPTY),
            ),
            "put": operation("putUser", TAG, "Create or overwrite a user", **put),
            "post": operation("putUserWithPost", TAG, "Create or overwrite a user", **put),
            "delete": operation(
                "deleteUser", TAG, "Delete a user", found, params=[*param_refs(), username], not_found=found_false()
            ),
        },
    }


def password_paths() -> dict[str, Any]:
    password = {"ok": DONE, "body": json_body("ChangePasswordRequest", True)}
    own = "Change the caller's own password (not through an API key or a token)"
    anyones = {**password, "params": [*param_refs(), ONE_USER]}
    return {
        "/_security/user/_password": {
            "put": operation("changeOwnPassword", TAG, own, **password),
            "post": operation("changeOwnPasswordWithPost", TAG, own, **password),
        },
        "/_security/user/{username}/_password": {
            "put": operation("changePassword", TAG, "Change a user's password", **anyones),
            "post": operation("changePasswordWithPost", TAG, "Change a user's password", **anyones),
        },
    }


def enabled_paths() -> dict[str, Any]:
    return {
        f"/_security/user/{{username}}/_{verb}": {
            method: operation(
                f"{verb}User{suffix}",
                TAG,
                f"{verb.capitalize()} a user (never the caller itself)",
                DONE,
                params=[*param_refs(), ONE_USER],
            )
            for method, suffix in (("put", ""), ("post", "WithPost"))
        }
        for verb in ("enable", "disable")
    }


def paths() -> dict[str, Any]:
    return {**user_paths(), **password_paths(), **enabled_paths()}
