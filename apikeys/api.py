"""The Elasticsearch-compatible JSON API: parse, call one service or query, render. The contract is
`shared/spec/API.md` beside this repository, with Elasticsearch's own docs as the tie-breaker; every path is
described at /openapi.json."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import caching, services
from .auth import authenticate
from .errors import ApiError, ContentTooLong, MethodNotAllowed, ParseFailed, reject_unknown
from .http import es_error, es_response
from .keys import ID_PATTERN
from .models import ApiKey, User
from .openapi import build_document
from .principals import Principal, user_role_names
from .privileges import has_privileges
from .query import search, sort_values
from .services import accounts

COMMON_PARAMS = {"pretty", "human", "error_trace", "refresh"}


class Call:
    """One API request: its principal, query parameters and JSON body."""

    def __init__(self, request: HttpRequest, principal: Principal, allowed_params: set[str]):
        self.request = request
        self.principal = principal
        reject_unknown(
            request.GET,
            allowed_params | COMMON_PARAMS,
            f"request [{request.path}] contains unrecognized parameter: [{{}}]",
            ApiError,
        )
        texts = [request.path, *(text for key, values in request.GET.lists() for text in (key, *values))]
        if not all(storable(text) for text in texts):
            raise ApiError("the request path and parameters may not contain NUL characters")

    def param(self, name: str) -> str | None:
        return self.request.GET.get(name)

    def flag(self, name: str) -> bool:
        value = self.request.GET.get(name)
        if value is None:
            return False
        if value in ("", "true"):
            return True
        if value == "false":
            return False
        raise ApiError(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")

    def body(self, required: bool = False) -> Any:
        raw = self.request.body
        if not raw.strip():
            if required:
                raise ApiError("request body is required", error_type="parse_exception")
            return {}
        try:
            data = json.loads(raw, parse_constant=_not_a_number, parse_float=_finite)
        except ValueError as exc:  # bad JSON, bad UTF-8, or a number refused above
            raise ParseFailed(f"Failed to parse request body: {exc}") from exc
        except RecursionError as exc:
            raise _too_deep() from exc
        if not isinstance(data, dict):
            raise ParseFailed("request body must be a JSON object")
        check_body(data)
        return data


MAX_BODY_DEPTH = 100


def _not_a_number(word: str) -> NoReturn:
    raise ValueError(f"[{word}] is not a JSON number")


def _finite(text: str) -> float:
    """JSON numbers only: no column stores an infinity, and `1e400` would be one."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number [{text}] is out of range")
    return number


def storable(text: str) -> bool:
    """Whether a text column can hold `text`: PostgreSQL refuses NUL, and UTF-8 has no unpaired surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _too_deep() -> ParseFailed:
    return ParseFailed(
        f"Failed to parse request body: nesting depth exceeds the maximum allowed depth [{MAX_BODY_DEPTH}]"
    )


def check_body(data: Any) -> None:
    """Refuse a body that no column can store or that nests deeper than every caller may recurse. Walked
    with a stack, not recursion, so a deep body cannot exhaust the interpreter's stack here either."""
    todo = [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_BODY_DEPTH:
                raise _too_deep()
            items = [*value, *value.values()] if isinstance(value, dict) else value
            todo.extend((item, depth + 1) for item in items)
        elif isinstance(value, str) and not storable(value):
            raise ParseFailed(
                "Failed to parse request body: strings may not contain NUL characters or unpaired surrogates"
            )


Handler = Callable[..., Any]


def endpoint(params: dict[str, set[str]] | None = None, **handlers: Handler):
    """A view dispatching on method to `handler(call, **url_kwargs)`, with the ES wire rules around it."""
    params = params or {}

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> JsonResponse:
        pretty = request.GET.get("pretty") in ("", "true")  # `?pretty` and `?pretty=true`, as Elasticsearch
        handler = handlers.get(request.method)
        if handler is None:
            allowed = ",".join(sorted(handlers))
            return es_error(
                MethodNotAllowed(
                    f"Incorrect HTTP method for uri [{request.path}] and method [{request.method}], allowed: [{allowed}]",
                    headers={"Allow": allowed},
                )
            )
        try:
            try:
                request.body  # noqa: B018 - reading it enforces the size limit before anything else
            except RequestDataTooBig as exc:
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                raise ContentTooLong(f"request body is larger than the limit of [{limit}] bytes") from exc
            principal = authenticate(request)
            call = Call(request, principal, params.get(request.method, set()))
            call.flag("pretty")  # a value other than true or false is refused
            result = handler(call, **kwargs)
        except ApiError as error:
            return es_error(error)
        if isinstance(result, tuple):
            data, status = result
            return es_response(data, status, pretty)
        return es_response(result, pretty=pretty)

    return view


# --- API keys ---------------------------------------------------------------------------------------------


def create_api_key(call: Call) -> dict:
    return services.create_api_key(call.principal, call.body(required=True)).to_dict()


def grant_api_key(call: Call) -> dict:
    return services.grant_api_key(call.principal, call.body(required=True)).to_dict()


def get_api_keys(call: Call) -> Any:
    selectors = services.KeySelectors(
        id=call.param("id"),
        name=call.param("name"),
        username=call.param("username"),
        realm_name=call.param("realm_name"),
        owner=call.flag("owner"),
        active_only=call.flag("active_only"),
        with_limited_by=call.flag("with_limited_by"),
    )
    call.flag("with_profile_uid")  # validated; no user profiles here, so there is no profile_uid to add
    found = [k.to_dict(selectors.with_limited_by) for k in services.get_api_keys(call.principal, selectors)]
    if selectors.id and not found:
        return {"api_keys": []}, 404
    return {"api_keys": found}


def invalidate_api_keys(call: Call) -> dict:
    return services.invalidate_api_keys(call.principal, call.body(required=True))


def query_api_keys(call: Call) -> dict:
    with_limited_by = call.flag("with_limited_by")
    services.check_limited_by(call.principal, with_limited_by)
    keys = services.readable_keys(call.principal, services.QUERY_ACTION)
    body = call.body()
    result = search(keys, body, typed_keys=call.flag("typed_keys"))
    hits = []
    for key in result.keys:
        hit = key.to_dict(with_limited_by)
        if result.sort_keys:
            hit["_sort"] = sort_values(key, result.sort_keys)
        hits.append(hit)
    out: dict[str, Any] = {"total": result.total, "count": len(hits), "api_keys": hits}
    if result.aggregations is not None:
        out["aggregations"] = result.aggregations
    return out


def update_api_key(call: Call, key_id: str) -> dict:
    return {"updated": services.update_api_key(call.principal, key_id, call.body())}


def bulk_update_api_keys(call: Call) -> dict:
    return services.bulk_update_api_keys(call.principal, call.body(required=True))


def clear_api_key_cache(call: Call, ids: str) -> dict:
    accounts.require_cluster(call.principal, "manage_security", "cluster:admin/xpack/security/api_key/cache/clear")
    wanted = ids.split(",")
    if "*" in wanted:
        wanted = list(ApiKey.objects.values_list("id", flat=True))
    # Only a key id can have a cache entry: any other text need not become a cache key's name.
    caching.forget_keys([i for i in wanted if ID_PATTERN.fullmatch(i)])
    return {"_nodes": {"total": 1, "successful": 1, "failed": 0}, "cluster_name": settings.APIKEYS_CLUSTER_NAME}


# --- Who am I, and what may I do --------------------------------------------------------------------------


def authenticate_info(call: Call) -> dict:
    principal = call.principal
    user = principal.user
    out = {
        "username": user.username,
        "roles": [] if principal.api_key else user_role_names(user),
        "full_name": user.full_name or None,
        "email": user.email or None,
        "metadata": user.metadata or {},
        "enabled": user.is_active,
    }
    if principal.api_key is not None:
        realm = {"name": "_es_api_key", "type": "_es_api_key"}
        out.update(authentication_realm=realm, lookup_realm=realm, authentication_type="api_key")
        out["api_key"] = {"id": principal.api_key.id, "name": principal.api_key.name}
        if principal.api_key.managed:
            out["api_key"]["managed"] = True
    else:
        realm = {"name": user.realm, "type": "native"}
        out.update(authentication_realm=realm, lookup_realm=realm, authentication_type="realm")
    return out


def check_privileges(call: Call) -> dict:
    answer = has_privileges(call.principal.role_sets, call.body())
    return {"username": call.principal.user.username, **answer}


# --- Roles and users --------------------------------------------------------------------------------------


def _names(value: str | None) -> list[str] | None:
    return [n for n in value.split(",") if n] if value else None


def get_roles(call: Call, name: str | None = None) -> Any:
    accounts.require_cluster(call.principal, "read_security", "cluster:admin/xpack/security/role/get")
    roles = accounts.role_descriptors(_names(name))
    return (roles, 200) if roles or name is None else ({}, 404)


def put_role(call: Call, name: str) -> dict:
    return {"role": {"created": accounts.put_role(call.principal, name, call.body(required=True))}}


def delete_role(call: Call, name: str) -> Any:
    found = accounts.delete_role(call.principal, name)
    return {"found": found}, (200 if found else 404)


def get_users(call: Call, username: str | None = None) -> Any:
    accounts.require_cluster(call.principal, "read_security", "cluster:admin/xpack/security/user/get")
    users = User.objects.filter(is_service_account=False).order_by("username")
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


GET_KEY_PARAMS = {"id", "name", "username", "realm_name", "owner", "active_only", "with_limited_by", "with_profile_uid"}
QUERY_PARAMS = {"with_limited_by", "typed_keys", "with_profile_uid"}

api_key_view = endpoint(
    params={"GET": GET_KEY_PARAMS},
    GET=get_api_keys,
    POST=create_api_key,
    PUT=create_api_key,
    DELETE=invalidate_api_keys,
)
query_view = endpoint(params={"GET": QUERY_PARAMS, "POST": QUERY_PARAMS}, GET=query_api_keys, POST=query_api_keys)
update_view = endpoint(PUT=update_api_key)
bulk_update_view = endpoint(POST=bulk_update_api_keys)
grant_view = endpoint(POST=grant_api_key)
clear_cache_view = endpoint(POST=clear_api_key_cache)
authenticate_view = endpoint(GET=authenticate_info)
has_privileges_view = endpoint(GET=check_privileges, POST=check_privileges)
roles_view = endpoint(GET=get_roles)
role_view = endpoint(GET=get_roles, PUT=put_role, POST=put_role, DELETE=delete_role)
users_view = endpoint(GET=get_users)
user_view = endpoint(GET=get_users, PUT=put_user, POST=put_user, DELETE=delete_user)


def openapi_view(request: HttpRequest) -> JsonResponse:
    """The OpenAPI document of this API: public, outside `endpoint`, since describing the API needs no login."""
    return JsonResponse(build_document())
