"""What writes share: slicing many ids into statements, what follows a committed change to keys, and the audit
event of a change to a named thing (a role, a user, a role mapping)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import F, QuerySet

from apikeys.access.principals import Principal
from apikeys.infra import caching
from apikeys.infra.deferred import after_response
from apikeys.infra.lookups import AnyOf
from apikeys.infra.planner import refresh_statistics_if_due
from apikeys.records import audit


def by_ids(queryset: QuerySet, ids: list[str]) -> Iterator[QuerySet]:
    """`queryset` narrowed to `ids`, in slices that fit one statement: SQLite's bound-variable limit (999, as
    Django counts it) less room for the statement's other values; PostgreSQL takes 10,000 at once."""
    size = (connection.features.max_query_params or 10_009) - 9
    for start in range(0, len(ids), size):
        yield queryset.filter(AnyOf(F("pk"), ids[start : start + size]))


def keys_written(key_ids: list[str]) -> None:
    """Once this transaction commits: the caches forget these keys (`caching.keys_changed`), and the
    planner's statistics are refreshed when due, after the response."""
    caching.keys_changed(key_ids)
    transaction.on_commit(lambda: after_response(refresh_statistics_if_due))


def audited(principal: Principal, action: str, target: str, **details: Any) -> None:
    """The audit event of `principal`'s change to the named thing `target`."""
    audit.record(action, principal.user.audit_name, target=target, client_address=principal.client_address, **details)


def delete_audited(found: QuerySet, principal: Principal, action: str, target: str) -> bool:
    """Delete what `found` holds, audited when there was something, in one transaction; whether there was."""
    with transaction.atomic():
        deleted, _ = found.delete()
        if deleted:
            audited(principal, action, target)
    return bool(deleted)
