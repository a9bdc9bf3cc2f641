"""Which keys a caller may read through the API, the get API's selectors with Elasticsearch's rules, and a
key's usage."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from apikeys.access.permissions import addressed_keys, visible_keys
from apikeys.access.principals import Principal
from apikeys.domain.durations import epoch_millis
from apikeys.domain.errors import ApiError, NotFound, ValidationFailed
from apikeys.domain.privileges import actions
from apikeys.infra.fast_rows import RowsOf
from apikeys.models import ApiKey
from apikeys.query import name_filter
from apikeys.records import usage


def readable_keys(principal: Principal) -> QuerySet[ApiKey]:
    """What the query API searches: every key for readers of all keys, the caller's own for
    `manage_own_api_key`."""
    keys = visible_keys(principal)
    if keys is None:
        raise principal.denied(actions.API_KEY_QUERY, own=True)
    return keys


def check_limited_by(principal: Principal, with_limited_by: bool) -> None:
    """An API key sees the `limited_by` of keys only when it may manage every key."""
    if with_limited_by and principal.api_key is not None and not principal.can_manage_all_keys:
        raise principal.denied(actions.API_KEY_GET)


@dataclass(frozen=True)
class KeySelectors:
    """The get API's query parameters."""

    id: str | None = None
    name: str | None = None
    username: str | None = None
    realm_name: str | None = None
    owner: bool = False
    active_only: bool = False
    with_limited_by: bool = False


KEY_ORDER = ("creation", "id")
OWN_KEYS = KeySelectors(owner=True)
OWNED_KEYS = RowsOf(ApiKey, ApiKey.WIRE_FIELDS, "owner", KEY_ORDER)


def get_api_keys(principal: Principal, selectors: KeySelectors) -> list[ApiKey]:
    """The keys the selectors name that the caller may read, oldest first."""
    s = selectors
    if s.id and s.name:
        raise ValidationFailed("only one of [api key id, api key name] can be specified")
    if (s.id or s.name) and (s.username or s.realm_name):
        raise ValidationFailed(
            "username or realm name must not be specified when the api key id or api key name is specified"
        )
    if s.owner and (s.username or s.realm_name):
        raise ValidationFailed(
            "username or realm name must not be specified when the current user's API keys are requested"
        )
    check_limited_by(principal, s.with_limited_by)
    own = principal.names_own_keys(s.owner, s.username, s.realm_name, [s.id] if s.id else None)
    keys = addressed_keys(principal, principal.can_read_all_keys, own, actions.API_KEY_GET)
    if s == OWN_KEYS:  # what scripts ask most: read without building a query at all
        return OWNED_KEYS.fetch(principal.user.pk)
    if s.owner:
        keys = keys.filter(owner=principal.user)
    if s.id:
        keys = keys.filter(pk=s.id)
    if s.name:
        keys = keys.filter(name_filter(s.name))
    if s.username:
        keys = keys.filter(username=s.username)
    if s.realm_name:
        keys = keys.filter(realm=s.realm_name)
    if s.active_only:
        keys = keys.active()
    fields = [*ApiKey.WIRE_FIELDS, "limited_by"] if s.with_limited_by else ApiKey.WIRE_FIELDS
    return list(keys.only(*fields).order_by(*KEY_ORDER))


MAX_USAGE_DAYS = 90
DEFAULT_USAGE_DAYS = 30
DEFAULT_USAGE_INTERVAL = "1d"


def key_usage(principal: Principal, key_id: str, days: str | None, interval: str | None) -> dict[str, Any]:
    """A key's usage (our extension): its counts over the last `days` (1 to 90, default 30) in buckets of
    `interval` (`1h` or `1d`, default `1d`), for whoever may see the key."""
    days = str(DEFAULT_USAGE_DAYS) if days is None else days
    interval = DEFAULT_USAGE_INTERVAL if interval is None else interval
    if not days.isdigit() or not 1 <= int(days) <= MAX_USAGE_DAYS:
        raise ApiError(f"[days] must be a whole number from 1 to {MAX_USAGE_DAYS}, but was [{days}]")
    if interval not in usage.INTERVALS:
        raise ApiError(f"[interval] must be one of [{', '.join(usage.INTERVALS)}], but was [{interval}]")
    key = readable_keys(principal).filter(pk=key_id).only("id", "last_used").first()
    if key is None:
        raise NotFound(f"api key [{key_id}] not found")
    buckets = usage.buckets(key.id, int(days), interval)
    refused: Counter[str] = Counter()
    for bucket in buckets:
        refused.update(bucket.refused)
    return {
        "id": key.id,
        "interval": interval,
        "buckets": [
            {"start": epoch_millis(b.start), "success": b.success, "refused": dict(sorted(b.refused.items()))}
            for b in buckets
        ],
        "total": {"success": sum(b.success for b in buckets), "refused": dict(sorted(refused.items()))},
        "last_used": epoch_millis(key.last_used) if key.last_used else None,
    }
