"""Who am I and what may I do, roles, application privileges and tokens: the endpoints around the keys (users
have theirs in `users`)."""

from __future__ import annotations

from typing import Any

from apikeys import services
from apikeys.api.refusals import privileges_of_a_key_with_descriptors
from apikeys.api.wire import Call, comma_names, endpoint
from apikeys.domain.privileges import actions, builtin_privileges, user_privileges
from apikeys.services import accounts


def authenticate_info(call: Call) -> dict:
    return call.principal.authentication()


def check_privileges(call: Call) -> dict:
    answer = services.app_privileges.check_privileges(call.principal.role_sets, call.body())
    return {"username": call.principal.user.username, **answer}


def list_builtin_privileges(call: Call) -> dict:
    call.principal.require(actions.PRIVILEGE_BUILTIN_GET)
    return builtin_privileges()


def list_user_privileges(call: Call) -> dict:
    """Every caller may ask what it holds; an API key only when it holds its owner's snapshot alone."""
    key = call.principal.api_key
    if key is not None and key.role_descriptors:
        raise privileges_of_a_key_with_descriptors()
    return user_privileges(call.principal.role_sets[0])


# --- Roles ------------------------------------------------------------------------------------------------


def get_roles(call: Call, name: str | None = None) -> Any:
    call.principal.require(actions.ROLE_GET)
    roles = accounts.role_descriptors(comma_names(name))
    return (roles, 200) if roles or name is None else ({}, 404)


def put_role(call: Call, name: str) -> dict:
    return {"role": {"created": accounts.put_role(call.principal, name, call.body(required=True))}}


def delete_role(call: Call, name: str) -> Any:
    found = accounts.delete_role(call.principal, name)
    return {"found": found}, (200 if found else 404)


def put_privileges(call: Call) -> dict:
    return services.app_privileges.put_privileges(call.principal, call.body(required=True))


def get_privileges(call: Call, application: str | None = None, name: str | None = None) -> Any:
    found = services.app_privileges.get_privileges(call.principal, application, comma_names(name))
    return (found, 200) if found or application is None else ({}, 404)


def delete_privileges(call: Call, application: str, name: str) -> Any:
    answer = services.app_privileges.delete_privileges(call.principal, application, comma_names(name) or [])
    found = any(entry["found"] for entry in answer[application].values())
    return answer, (200 if found else 404)


def get_token(call: Call) -> dict:
    return services.tokens.create_token(call.principal, call.body(required=True))


def invalidate_token(call: Call) -> dict:
    return services.tokens.invalidate_tokens(call.principal, call.body(required=True))


authenticate_view = endpoint(GET=authenticate_info)
has_privileges_view = endpoint(GET=check_privileges, POST=check_privileges)
builtin_privileges_view = endpoint(GET=list_builtin_privileges)
user_privileges_view = endpoint(GET=list_user_privileges)
roles_view = endpoint(GET=get_roles)
role_view = endpoint(GET=get_roles, PUT=put_role, POST=put_role, DELETE=delete_role)
privileges_view = endpoint(GET=get_privileges, PUT=put_privileges, POST=put_privileges)
application_privileges_view = endpoint(GET=get_privileges)
privilege_view = endpoint(GET=get_privileges, DELETE=delete_privileges)
token_view = endpoint(POST=get_token, DELETE=invalidate_token)
