"""A key's page as a read model: the key (if the caller may see it) and whether its owner is enabled, what the
caller may do with it, what it may do (effective privileges), the keys it replaced, was replaced by or was cloned
from, what happened to it, its usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from apikeys.access.permissions import Refusal, clone_refusal, roll_refusal, update_refusal, visible_keys
from apikeys.access.principals import Principal
from apikeys.domain.privileges import (
    effective_applications,
    effective_cluster_privileges,
    effective_index_privileges,
    named_applications,
)
from apikeys.models import ApiKey, AuditEvent
from apikeys.records import usage
from apikeys.services.app_privileges import definitions
from apikeys.services.clone import CLONED_FROM

KEY_EVENTS_SHOWN = 20


def visible_key(principal: Principal, key_id: str) -> ApiKey | None:
    """The key, when the caller may see it (`see_refusal`'s queryset face), with its owner."""
    visible = visible_keys(principal)
    return visible.select_related("owner").filter(pk=key_id).first() if visible is not None else None


@dataclass(frozen=True)
class KeyPage:
    key: ApiKey
    owner_enabled: bool
    update_refusal: Refusal | None
    roll_refusal: Refusal | None
    clone_refusal: Refusal | None
    successor: ApiKey | None
    predecessor_shown: bool
    cloned_from: str | None  # the key this one was cloned from (`_cloned_from`), and whether the caller sees it
    cloned_from_shown: bool
    events: list[AuditEvent]
    usage: list[usage.Bucket]
    effective_cluster: list[str]
    effective_indices: list[Any]
    effective_applications: list[Any]


def key_page(principal: Principal, key: ApiKey, usage_days: int, usage_interval: str, now: datetime) -> KeyPage:
    """Everything the page shows of `key` (one the caller may see)."""
    visible = visible_keys(principal)
    role_sets = key.role_sets
    applications = named_applications(role_sets)
    cloned_from = (key.metadata or {}).get(CLONED_FROM)
    cloned_from = cloned_from if isinstance(cloned_from, str) else None
    return KeyPage(
        key=key,
        owner_enabled=key.owner.is_active,
        update_refusal=update_refusal(principal, key, now),
        roll_refusal=roll_refusal(principal, key, now),
        clone_refusal=clone_refusal(principal, key, now),
        successor=visible.filter(pk=key.rolled_to).first() if key.rolled_to else None,
        predecessor_shown=bool(key.rolled_from) and visible.filter(pk=key.rolled_from).exists(),
        cloned_from=cloned_from,
        cloned_from_shown=bool(cloned_from) and visible.filter(pk=cloned_from).exists(),
        events=key_events(key),
        usage=usage.buckets(key.id, usage_days, usage_interval, now),
        effective_cluster=effective_cluster_privileges(role_sets),
        effective_indices=effective_index_privileges(key.mentioned_roles, role_sets),
        effective_applications=effective_applications(
            key.mentioned_roles, role_sets, definitions(applications) if applications else {}
        ),
    )


def key_events(key: ApiKey) -> list[AuditEvent]:
    """What happened to the key, newest first; a successor's page shows the roll that made it too."""
    happened = Q(key_id=key.id)
    if key.rolled_from:
        happened |= Q(key_id=key.rolled_from, action=AuditEvent.Action.ROLL)
    return list(AuditEvent.objects.filter(happened).order_by("-timestamp", "-id")[:KEY_EVENTS_SHOWN])
