"""Who am I and what may I do, roles, users, application privileges and tokens: the endpoints around the keys."""

from __future__ import annotations

from typing import Any

from apikeys import services
from apikeys.api.wire import Call, endpoint
from apikeys.domain.privileges import actions
from apikeys.models import User
from apikeys.services import accounts


def authenticate_info(call: Call) -> dict:
    return call.principal.authentication()


def check_privileges(call: Call) -> dict:
    answer = services.app_privileges.check_privileges(call.principal.role_sets, call.body())
    return {"username": call.principal.user.username, **answer}


# --- Roles and users --------------------------------------------------------------------------------------


def _names(value: str | None) -> list[str] | None:
    return [n for n in value.split(",") if n] if value else None


def get_roles(call: Call, name: str | None = None) -> Any:
    call.principal.require(actions.ROLE_GET)
    roles = accounts.role_descriptors(_names(name))
    return (roles, 200) if roles or name is None else ({}, 404)


def put_role(call: Call, name: str) -> dict:
    return {"role": {"created": accounts.put_role(call.principal, name, call.body(required=True))}}


def delete_role(call: Call, name: str) -> Any:
    found = accounts.delete_role(call.principal, name)
    return {"found": found}, (200 if found else 404)


def get_users(call: Call, username: str | None = None) -> Any:
    call.principal.require(actions.USER_GET)
    users = User.objects.filter(is_service_account=False, external_realm="").order_by("username")
    names = _names(username)
    if names is not None:
        users = users.filter(username__in=names)
    found = {u.username: accounts.user_to_dict(u) for u in users}
    return (found, 200) if found or names is None else ({}, 404)


def put_user(call: Call, username: str) -> dict:
    return {"created": accounts.put_user(call.principal, username, call.body(required=True))}


def delete_user(call: Call, username: str) -> Any:
    found = accounts.delete_user(call.principal, username)
    return {"found": found}, (200 if found else 404)


def put_privileges(call: Call) -> dict:
    return services.app_privileges.put_privileges(call.principal, call.body(required=True))


def get_privileges(call: Call, application: str | None = None, name: str | None = None) -> Any:
    found = services.app_privileges.get_privileges(call.principal, application, _names(name))
    return (found, 200) if found or application is None else ({}, 404)


def delete_privileges(call: Call, application: str, name: str) -> Any:
    answer = services.app_privileges.delete_privileges(call.principal, application, _names(name) or [])
    found = any(entry["found"] for entry in answer[application].values())
    return answer, (200 if found else 404)


def get_token(call: Call) -> dict:
    return services.tokens.create_token(call.principal, call.body(required=True))


def invalidate_token(call: Call) -> dict:
    return services.tokens.invalidate_tokens(call.principal, call.body(required=True))


authenticate_view = endpoint(GET=authenticate_info)
has_privileges_view = endpoint(GET=check_privileges, POST=check_privileges)
roles_view = endpoint(GET=get_roles)
role_view = endpoint(GET=get_roles, PUT=put_role, POST=put_role, DELETE=delete_role)
users_view = endpoint(GET=get_users)
user_view = endpoint(GET=get_users, PUT=put_user, POST=put_user, DELETE=delete_user)
privileges_view = endpoint(GET=get_privileges, PUT=put_privileges, POST=put_privileges)
application_privileges_view = endpoint(GET=get_privileges)
privilege_view = endpoint(GET=get_privileges, DELETE=delete_privileges)
token_view = endpoint(POST=get_token, DELETE=invalidate_token)
