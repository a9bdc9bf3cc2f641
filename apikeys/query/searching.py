"""One query API request: validate the body, compile the query, count, aggregate, sort and cut a page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet

from ..caching import cached_count
from ..errors import QueryError, reject_unknown
from ..lookups import Likely
from ..models import ApiKey
from .aggregations import compute_aggregations
from .dsl import compile_query
from .fields import FIELDS
from .sort import SEARCH_AFTER_SHAPE, SortKey, apply_sort, parse_sort

MAX_RESULT_WINDOW = 10_000


SEARCH_FIELDS = {"query", "from", "size", "sort", "search_after", "aggs", "aggregations"}


@dataclass
class SearchResult:
    total: int
    keys: list[ApiKey]
    sort_keys: list[SortKey] = field(default_factory=list)
    aggregations: dict[str, Any] | None = None


def _non_negative_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise QueryError(f"[{name}] parameter cannot be negative or non-integer, found [{value}]")
    return value


# From this many matches, a page is read by walking the sort's index (see lookups.Likely).
WALK_SORT_FROM_MATCHES = 1_000


def search(queryset: QuerySet, body: Mapping[str, Any], typed_keys: bool = False) -> SearchResult:
    """Run a query API body against `queryset` (already narrowed to what the caller may see)."""
    reject_unknown(
        body, SEARCH_FIELDS, "request body contains unknown field [{}]", QueryError, "x_content_parse_exception"
    )
    if "aggs" in body and "aggregations" in body:
        raise QueryError("Duplicate field [aggregations]: use only one of [aggs] and [aggregations]")
    start = _non_negative_int("from", body.get("from", 0))
    size = _non_negative_int("size", body.get("size", 10))
    if start + size > MAX_RESULT_WINDOW:
        raise QueryError(
            f"Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was "
            f"[{start + size}]. Use [search_after] to page through more keys."
        )
    if "search_after" in body and start:
        raise QueryError("[from] parameter must be set to 0 when [search_after] is used")
    condition = compile_query(body.get("query"))
    matching = queryset.filter(condition)
    keys = parse_sort(body.get("sort"))
    if body.get("search_after") is not None and not keys:
        # The default order (by creation) is not a sort the caller could have taken values from.
        raise QueryError(SEARCH_AFTER_SHAPE)
    aggs = body.get("aggs", body.get("aggregations"))
    aggregations = compute_aggregations(matching, aggs, typed_keys) if aggs is not None else None
    # Exact, as promised; remembered until the next write when it counted many rows.
    try:
        sql = str(matching.query)
    except EmptyResultSet:  # a query that can match nothing (e.g. `terms` with no values)
        sql = None
    total = 0 if sql is None else cached_count(["search", sql], matching.count)
    if total >= WALK_SORT_FROM_MATCHES and (start + size) * 10 <= total:
        # Many matches, an early page: walking the sort's index meets a page's worth soon.
        matching = queryset.filter(Likely(condition))
    ordered = apply_sort(matching, keys or [SortKey(FIELDS["creation"], False)], body.get("search_after"))
    rows = list(ordered.select_related(None)[start : start + size]) if size else []
    return SearchResult(total=total, keys=rows, sort_keys=keys, aggregations=aggregations)
