"""The API key endpoints: create, grant, clone, get, query, update, bulk update, invalidate, clear the cache;
create and update cross-cluster keys; roll, usage, the secrets' format and leak reports (ours)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apikeys import services
from apikeys.api.refusals import bulk_update_answer, invalidation_answer
from apikeys.api.wire import Call, endpoint
from apikeys.domain import keys
from apikeys.domain.keys import ID_PATTERN
from apikeys.domain.privileges import actions
from apikeys.infra import caching, secret_scanning
from apikeys.infra.http import client_address
from apikeys.models import ApiKey, KeyType
from apikeys.query import search, sort_values

GET_KEY_PARAMS = {"id", "name", "username", "realm_name", "owner", "active_only", "with_limited_by", "with_profile_uid"}
QUERY_PARAMS = {"with_limited_by", "typed_keys", "with_profile_uid"}
USAGE_PARAMS = {"days", "interval"}


def create_api_key(call: Call) -> dict:
    return services.create_api_key(call.principal, call.body(required=True)).to_dict()


def grant_api_key(call: Call) -> dict:
    return services.grant_api_key(call.principal, call.body(required=True)).to_dict()


def clone_api_key(call: Call) -> dict:
    return services.clone_api_key(call.principal, call.body(required=True)).to_dict()


def bulk_grant_api_keys(call: Call) -> dict:
    created = services.bulk_grant_api_keys(call.principal, call.body(required=True))
    return {"created": [key.to_dict() for key in created]}


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
    return invalidation_answer(services.invalidate_api_keys(call.principal, call.body(required=True)))


def query_api_keys(call: Call) -> dict:
    with_limited_by = call.flag("with_limited_by")
    services.check_limited_by(call.principal, with_limited_by)
    keys = services.readable_keys(call.principal)
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


def roll_api_key(call: Call, key_id: str) -> dict:
    return services.roll_api_key(call.principal, key_id, call.body()).to_dict()


def key_usage(call: Call, key_id: str) -> dict:
    return services.key_usage(call.principal, key_id, call.param("days"), call.param("interval"))


def secret_format(call: Call) -> dict:
    return {
        "prefix": keys.SECRET_PREFIX,
        "secret": keys.SECRET_PATTERN.pattern,
        "encoded": keys.ENCODED_PATTERN.pattern,
        "issuing": settings.APIKEYS_SECRET_FORMAT,
    }


def report_leaks(call: Call) -> list:
    headers = call.request.headers
    return services.report_leaks(
        call.request.body,
        headers.get(secret_scanning.KEY_IDENTIFIER_HEADER, ""),
        headers.get(secret_scanning.SIGNATURE_HEADER, ""),
        client_address(call.request),
    )


def create_cross_cluster_api_key(call: Call) -> dict:
    return services.create_cross_cluster_api_key(call.principal, call.body(required=True)).to_dict()


def update_cross_cluster_api_key(call: Call, key_id: str) -> dict:
    updated = services.update_api_key(call.principal, key_id, call.body(required=True), KeyType.CROSS_CLUSTER)
    return {"updated": updated}


def bulk_update_api_keys(call: Call) -> dict:
    return bulk_update_answer(services.bulk_update_api_keys(call.principal, call.body(required=True)), call.principal)


def clear_api_key_cache(call: Call, ids: str) -> dict:
    call.principal.require(actions.API_KEY_CACHE_CLEAR)
    wanted = ids.split(",")
    if "*" in wanted:
        wanted = list(ApiKey.objects.values_list("id", flat=True))
    # Only a key id can have a cache entry: any other text need not become a cache key's name.
    caching.forget_keys([i for i in wanted if ID_PATTERN.fullmatch(i)])
    return {"_nodes": {"total": 1, "successful": 1, "failed": 0}, "cluster_name": settings.APIKEYS_CLUSTER_NAME}


api_key_view = endpoint(
    params={"GET": GET_KEY_PARAMS},
    GET=get_api_keys,
    POST=create_api_key,
    PUT=create_api_key,
    DELETE=invalidate_api_keys,
)
query_view = endpoint(params={"GET": QUERY_PARAMS, "POST": QUERY_PARAMS}, GET=query_api_keys, POST=query_api_keys)
update_view = endpoint(PUT=update_api_key)
roll_view = endpoint(POST=roll_api_key)
usage_view = endpoint(params={"GET": USAGE_PARAMS}, GET=key_usage)
bulk_update_view = endpoint(POST=bulk_update_api_keys)
grant_view = endpoint(POST=grant_api_key)
bulk_grant_view = endpoint(POST=bulk_grant_api_keys)
clone_view = endpoint(POST=clone_api_key, PUT=clone_api_key)
clear_cache_view = endpoint(POST=clear_api_key_cache)
format_view = endpoint(GET=secret_format)
leaked_view = endpoint(anonymous=True, POST=report_leaks)
cross_cluster_view = endpoint(POST=create_cross_cluster_api_key)
cross_cluster_update_view = endpoint(PUT=update_cross_cluster_api_key)
