"""What every write to keys shares: slicing many ids into statements, and what follows a committed change."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connection, transaction
from django.db.models import F, QuerySet

from apikeys.infra import caching
from apikeys.infra.deferred import after_response
from apikeys.infra.lookups import AnyOf
from apikeys.infra.planner import refresh_statistics_if_due


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
