"""What a delete request in the console means (the checked keys, every key matching the search, every expired
or every unused key), and the preview its confirmation shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet

from apikeys.access.permissions import (
    Refusal,
    deletable_keys,
    may_delete_all_matching_a_state,
    visible_keys,
)
from apikeys.access.principals import Principal
from apikeys.domain.key_rules import not_used
from apikeys.query import compile_query
from apikeys.readmodels.listing import CROSS_CLUSTER_CLAUSE

MAX_LISTED_NAMES = 50


class DeleteMode(StrEnum):
    IDS = "ids"
    MATCHING = "matching"
    EXPIRED = "expired"
    UNUSED = "unused"


@dataclass(frozen=True)
class Deletion:
    """The keys a delete request addresses. Checked ids are looked for among the keys the caller may see, so
    each one refused is refused by `delete_refusal`, with its reason; the other modes take exactly the keys
    the caller may delete (`deletable_keys`), so what the confirmation counts is what goes."""

    mode: DeleteMode
    scope: QuerySet
    ids: list[str] | None = None


def deletion(
    principal: Principal, mode: DeleteMode, ids: list[str], search: dict[str, Any], now: datetime
) -> Deletion | Refusal:
    """The deletion a request asks for, or why the caller may not ask for it (`search`: the list's query-DSL
    clause, for every matching key)."""
    deletable = deletable_keys(principal, now)
    if deletable is None:
        return Refusal.NO_PRIVILEGE
    if mode in (DeleteMode.EXPIRED, DeleteMode.UNUSED) and not may_delete_all_matching_a_state(principal):
        return Refusal.NO_PRIVILEGE
    if mode is DeleteMode.EXPIRED:
        return Deletion(mode, deletable.expired(now))
    if mode is DeleteMode.UNUSED:
        return Deletion(mode, deletable.filter(not_used().q(now)))
    if mode is DeleteMode.MATCHING:
        return Deletion(mode, deletable.filter(compile_query(search)))
    return Deletion(mode, visible_keys(principal), ids)


@dataclass(frozen=True)
class DeletePreview:
    count: int
    names: list[str]
    managed_included: bool
    cross_cluster_included: bool

    @property
    def more(self) -> int:
        return self.count - len(self.names)


def preview(principal: Principal, chosen: Deletion, now: datetime) -> DeletePreview:
    """What the confirmation says will go: the keys of the deletion that the caller may delete."""
    keys = chosen.scope
    if chosen.ids is not None:
        keys = deletable_keys(principal, now).filter(pk__in=chosen.ids)
    count = keys.count()
    return DeletePreview(
        count=count,
        names=list(keys.order_by("name", "id").values_list("name", flat=True)[:MAX_LISTED_NAMES]),
        managed_included=keys.filter(managed=True).exists(),
        cross_cluster_included=keys.filter(compile_query(CROSS_CLUSTER_CLAUSE)).exists(),
    )
