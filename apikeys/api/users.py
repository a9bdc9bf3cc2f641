"""The user endpoints: get users by name, put (create or overwrite) and delete a user, change a password (anyone's,
or the caller's own), enable and disable a user. Every answer is Elasticsearch's."""

from __future__ import annotations

from typing import Any

from apikeys.api.wire import Call, comma_names, endpoint
from apikeys.services import users


def get_users(call: Call, username: str | None = None) -> Any:
    call.flag("with_profile_uid")  # accepted; no user has a profile here, so no answer carries `profile_uid`
    names = comma_names(username)
    found = users.get_users(call.principal, names)
    return (found, 200) if found or names is None else ({}, 404)


def put_user(call: Call, username: str) -> dict:
    return {"created": users.put_user(call.principal, username, call.body(required=True))}


def delete_user(call: Call, username: str) -> Any:
    found = users.delete_user(call.principal, username)
    return {"found": found}, (200 if found else 404)


def change_password(call: Call, username: str | None = None) -> dict:
    users.change_password(call.principal, username, call.body(required=True))
    return {}


def enable_user(call: Call, username: str) -> dict:
    users.set_enabled(call.principal, username, True)
    return {}


def disable_user(call: Call, username: str) -> dict:
    users.set_enabled(call.principal, username, False)
    return {}


GET_PARAMS = {"GET": {"with_profile_uid"}}
users_view = endpoint(GET_PARAMS, GET=get_users)
user_view = endpoint(GET_PARAMS, GET=get_users, PUT=put_user, POST=put_user, DELETE=delete_user)
password_view = endpoint(PUT=change_password, POST=change_password)
enable_view = endpoint(PUT=enable_user, POST=enable_user)
disable_view = endpoint(PUT=disable_user, POST=disable_user)
