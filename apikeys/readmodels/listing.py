"""The console's list of keys as a read model: what a principal sees, filtered, counted, sorted and cut into
pages, fast at 100,000 keys.

The search and filters become one query-DSL clause (the same engine as `/_security/_query/api_key`). Counts
beside the filters are remembered until keys change (`caching.cached_count`), and each owner's number of keys
is kept by the database (`OwnerKeyCount`). A page is read from the nearer end (see `page_rows`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from django.db.models import Count, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apikeys.access.permissions import deletable_keys, may_delete_any, visible_keys
from apikeys.access.principals import Principal
from apikeys.domain.key_rules import KeyStatus, expiring_soon, not_used
from apikeys.infra.caching import cached_count
from apikeys.infra.fast_rows import KeptStatements
from apikeys.infra.lookups import escape_wildcard
from apikeys.models import MANAGED_CLAUSE, ApiKey, KeyType, OwnerKeyCount
from apikeys.query import compile_query, walking_the_sort, walks_the_sort
from apikeys.records import usage

DEFAULT_SORT = "-created"
# What each sortable column orders by; ties are broken by id so that pages never overlap.
SORTS = {
    "name": ("name", "id"),
    "type": ("managed", "creation", "id"),  # apikey_managed serves the type filter and this sort
    "owner": ("username", "id"),
    "created": ("creation", "id"),
    "status": ("invalidated", "expiration", "id"),
}
PER_PAGE_CHOICES = [25, 50, 100]
# What a row of the list shows (and who may delete it): not the role descriptors, which are most of a row.
ROW_FIELDS = (
    "id",
    "name",
    "type",
    "owner",
    "username",
    "realm",
    "creation",
    "expiration",
    "invalidated",
    "managed",
    "last_used",
    "leaked",
)
ROW_ATTNAMES = [ApiKey._meta.get_field(name).attname for name in ROW_FIELDS]
# Read with each row through the owner's primary key, so that a disabled owner's keys show it at no extra query.
OWNER_ENABLED = "owner__is_active"
# Stepping over this many rows to a page costs little even when they are read whole; beyond it, ids first.
READ_ROWS_WHEN_SKIPPING = 1_000
# The statements of pages read in one go, by shape (`page_rows`).
PAGE_STATEMENTS = KeptStatements(ApiKey)
# The Type filter's values. Every key is exactly one: a cross-cluster key is that, whatever its metadata says.
TYPES = {"personal": "Personal", "managed": "Managed", "cross_cluster": "Cross-cluster"}
CROSS_CLUSTER_CLAUSE: dict[str, Any] = {"term": {"type": KeyType.CROSS_CLUSTER.value}}
TYPE_CLAUSES: dict[str, dict[str, Any]] = {
    "personal": {"bool": {"must_not": [MANAGED_CLAUSE, CROSS_CLUSTER_CLAUSE]}},
    "managed": {"bool": {"filter": [MANAGED_CLAUSE], "must_not": [CROSS_CLUSTER_CLAUSE]}},
    "cross_cluster": CROSS_CLUSTER_CLAUSE,
}
# The default view (no status chosen) shows every key that is not invalidated.
DEFAULT_STATUS_LABEL = "Active and expired"
# The Status filter's values beyond the statuses: parts of the active keys (`models.expiring_soon`, `not_used`).
EXPIRING = "expiring"
UNUSED = "unused"
STATUS_FILTERS = {**dict(KeyStatus.choices), EXPIRING: "Expiring soon", UNUSED: "Not used"}
STATUS_FILTER_RULES = {EXPIRING: expiring_soon, UNUSED: not_used}
# Beside the filter, these parts of the active keys are counted up to this many and shown as "1,000+" beyond
# (`counts["capped"]` names them): counting reads one index entry (on PostgreSQL, a row) per key counted, and
# at 100,000 keys, most of them unused, the full count cost a cold first page 9 ms on SQLite and 22 ms on
# PostgreSQL; up to 1,000 it costs 0.2 and 1 ms. The chosen filter is counted exactly (it pages).
COUNTED_UP_TO = 1_000
# Each row's sparkline: its requests per day over this many days.
SPARKLINE_DAYS = 7
# The Owner filter lists at most this many owners (by name); the search box finds the others.
MAX_OWNER_CHOICES = 100


@dataclass(frozen=True)
class KeyFilters:
    """What the person asked for: the search text and the chosen type, status and owner ("" for any)."""

    q: str = ""
    type: str = ""
    status: str = ""
    owner: str = ""

    def search_clause(self) -> dict[str, Any]:
        """The search box alone: name or owner containing the text, ignoring case."""
        text = self.q.strip()
        if not text:
            return {"match_all": {}}
        pattern = f"*{escape_wildcard(text)}*"
        return {
            "bool": {
                "should": [
                    {"wildcard": {"name": {"value": pattern, "case_insensitive": True}}},
                    {"wildcard": {"username": {"value": pattern, "case_insensitive": True}}},
                ]
            }
        }

    def status_clause(self) -> dict[str, Any]:
        if self.status in STATUS_FILTER_RULES:
            return STATUS_FILTER_RULES[self.status]().clause()
        if self.status:
            return KeyStatus(self.status).clause()
        return KeyStatus.INVALIDATED.clause_for_others()

    def query(self) -> dict[str, Any]:
        """The search and filters as one query-DSL clause."""
        must: list[dict[str, Any]] = [self.search_clause()] if self.q.strip() else []
        if self.type in TYPE_CLAUSES:
            must.append(TYPE_CLAUSES[self.type])
        must.append(self.status_clause())
        if self.owner:
            must.append({"term": {"username": self.owner}})
        return {"bool": {"filter": must}}


def type_of(key: ApiKey) -> str:
    """Which of `TYPES` a key is: the rule of `TYPE_CLAUSES`, for one key in hand."""
    if key.type == KeyType.CROSS_CLUSTER:
        return "cross_cluster"
    return "managed" if key.managed else "personal"


def ordering(sort: str) -> tuple[str, list[str]]:
    """The `sort` parameter (`name`, `-created`, ...) as understood, and the ORM ordering it means."""
    name = sort.removeprefix("-")
    if name not in SORTS:
        sort, name = DEFAULT_SORT, DEFAULT_SORT.removeprefix("-")
    fields = SORTS[name]
    return sort, [f"-{f}" for f in fields] if sort.startswith("-") else list(fields)


@dataclass(frozen=True)
class PageWindow:
    """Where one page sits among all: page `number` of `pages`, rows `start_index` to `end_index` of `total`."""

    number: int
    pages: int
    total: int
    per_page: int

    @property
    def start_index(self) -> int:
        return 0 if self.total == 0 else (self.number - 1) * self.per_page + 1

    @property
    def end_index(self) -> int:
        return min(self.number * self.per_page, self.total)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


class KeyListing:
    """One view of the list: `counts`, `total`, the page number (clamped) and the keys of that page."""

    def __init__(self, principal: Principal, filters: KeyFilters, sort: str, page: int, per_page: int):
        self.principal = principal
        self.filters = filters
        self.query = filters.query()
        self.sort, self.ordering = ordering(sort)
        self.per_page = per_page if per_page in PER_PAGE_CHOICES else PER_PAGE_CHOICES[0]
        self.visible = visible_keys(principal)
        self.requested_page = page

    @property
    def allowed(self) -> bool:
        return self.visible is not None

    @cached_property
    def counts(self) -> dict[str, Any]:
        """The number of keys shown (`total`), the count beside every filter value and the owners' counts.
        The slow part at 100,000 keys: remembered until the next change to keys (or 30 s)."""
        return cached_count(
            ["list", self.scope, self.query], self._count, rows=lambda counts: sum(counts[name] for name in TYPES)
        )

    @property
    def scope(self) -> str:
        """Whose keys are listed: every key, or the caller's."""
        return "all" if self.principal.can_read_all_keys else f"owner:{self.principal.user.pk}"

    @property
    def total(self) -> int:
        return self.counts["total"]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def page(self) -> int:
        return min(max(self.requested_page, 1), self.pages)

    @property
    def window(self) -> PageWindow:
        return PageWindow(self.page, self.pages, self.total, self.per_page)

    def has_any_key(self) -> bool:
        return self.total > 0 or self.visible.exists()

    def deletable_total(self) -> int:
        """How many of the matching keys the caller may delete (`deletable_keys`), what "Select all matching"
        offers and its confirmation counts: no invalidated key, and a cross-cluster one only with
        `manage_security`. Counted only when it can differ from `total` (cross-cluster keys among the
        search's, for a caller without `manage_security`): otherwise it is `total`, at no query."""
        if not may_delete_any(self.principal) or self.filters.status == KeyStatus.INVALIDATED:
            return 0
        if self.principal.has_cluster("manage_security") or not self.counts.get("cross_cluster"):
            return self.total
        return deletable_keys(self.principal).filter(compile_query(self.query)).count()

    def page_keys(self) -> list[ApiKey]:
        """The keys of this page, in order, only the columns a row shows and whether each owner is enabled
        (`owner_enabled`; see `page_rows`)."""
        offset = (self.page - 1) * self.per_page
        nearer_end = offset + self.per_page if offset <= self.total // 2 else self.total - offset

        def matching() -> QuerySet:
            return self.visible.filter(walking_the_sort(compile_query(self.query), self.total, nearer_end))

        clause = json.dumps(self.query, sort_keys=True)
        # What shapes the statement, when nothing in it is read from the clock (date math starts with "now").
        shape = None if '"now' in clause else (self.scope, clause, walks_the_sort(self.total, nearer_end))
        ids_first = self.filters.status == EXPIRING  # its matches' order is in `apikey_expiring`, not their rows
        return page_rows(matching, self.ordering, offset, self.per_page, self.total, ids_first, shape)

    def _count(self) -> dict[str, Any]:
        """Without a search every count is a range of an index (or the owners' GROUP BY over
        `apikey_username`), a few milliseconds each at 100,000 keys; the statuses partition the keys, so
        active is what is left. With a search, all counts come from one pass over its matches (found through
        the trigram index on PostgreSQL; SQLite reads every name)."""
        visible = self.visible
        now = timezone.now()
        if self.filters.q.strip():
            return self._count_in_one_pass(visible.filter(compile_query(self.filters.search_clause())))
        owners = owner_counts() if self.principal.can_read_all_keys else username_counts(visible)
        keys = sum(count for _, count in owners)

        def count(clause: dict[str, Any]) -> int:
            return visible.filter(compile_query(clause)).count()

        counts = {status: count(KeyStatus(status).clause()) for status in (KeyStatus.EXPIRED, KeyStatus.INVALIDATED)}
        counts[KeyStatus.ACTIVE] = keys - counts[KeyStatus.EXPIRED] - counts[KeyStatus.INVALIDATED]
        # The ORM face of these rules: "not used" is then one expression its index holds.
        capped = []
        for name, rule in STATUS_FILTER_RULES.items():
            matching = visible.filter(rule().q(now))
            if name == self.filters.status:
                counts[name] = matching.count()
            else:
                counts[name] = count_up_to(matching, COUNTED_UP_TO)
                if counts[name] > COUNTED_UP_TO:
                    capped.append(name)
        # Few keys are cross-cluster: their partial index gives them (and which of them are managed) at once,
        # where "managed and not cross-cluster" would read every managed key's row (9 ms at 100,000 keys).
        cross_cluster = list(visible.filter(compile_query(CROSS_CLUSTER_CLAUSE)).values_list("managed", flat=True))
        counts["cross_cluster"] = len(cross_cluster)
        counts["managed"] = count(MANAGED_CLAUSE) - sum(cross_cluster)
        counts["personal"] = keys - counts["managed"] - counts["cross_cluster"]
        if self.filters.type or self.filters.owner:
            counts["total"] = count(self.query)
        else:  # the status filter alone (or none: every key not invalidated) is one of the counts above
            counts["total"] = counts.get(self.filters.status, keys - counts[KeyStatus.INVALIDATED])
        counts["owners"] = owners[:MAX_OWNER_CHOICES]
        counts["capped"] = capped  # counted no further than COUNTED_UP_TO + 1
        return {str(name): value for name, value in counts.items()}

    def _count_in_one_pass(self, searched: QuerySet) -> dict[str, Any]:
        clauses = {str(status): status.clause() for status in KeyStatus}
        clauses.update({name: rule().clause() for name, rule in STATUS_FILTER_RULES.items()})
        # The keys counted already match the search: `total` need not test it again on every one of them.
        clauses.update(
            managed=TYPE_CLAUSES["managed"],
            cross_cluster=CROSS_CLUSTER_CLAUSE,
            total=replace(self.filters, q="").query(),
        )
        counts = dict.fromkeys([*clauses, "personal"], 0)
        owners = []
        for owner in counts_per_username(searched, clauses):
            for name in clauses:
                counts[name] += owner[name]
            counts["personal"] += owner["count"] - owner["managed"] - owner["cross_cluster"]
            owners.append((owner["username"], owner["count"]))
        counts["owners"] = owners[:MAX_OWNER_CHOICES]
        return counts


def count_up_to(queryset: QuerySet, limit: int) -> int:
    """How many keys `queryset` holds, counting no further than `limit` + 1 (so "more than `limit`" shows).
    The rows counted select `invalidated`, the first column of every status index, so that SQLite counts
    from the index alone (selecting the id read each key's row: 19 ms for 10,000 keys, 1.7 ms without)."""
    return queryset.order_by().values("invalidated")[: limit + 1].count()


def owner_counts() -> list[tuple[str, int]]:
    """(username, number of keys) of every owner, by username: kept by the database (`OwnerKeyCount`)."""
    return list(OwnerKeyCount.objects.filter(keys__gt=0).order_by("username").values_list("username", "keys"))


def username_counts(queryset: QuerySet) -> list[tuple[str, int]]:
    """(username, number of keys) by username: read from the username index alone."""
    return list(queryset.values_list("username").annotate(n=Count("pk")).order_by("username"))


def counts_per_username(queryset: QuerySet, clauses: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per owner's username among the keys, by name: `count`, and for each named clause how many of
    them it matches. One statement, one pass (`COUNT(*) FILTER (WHERE …)` per clause, `GROUP BY`)."""
    conditions = {f"n_{name}": Count("pk", filter=compile_query(clause)) for name, clause in clauses.items()}
    # Grouped by an expression, not the bare column: SQLite would otherwise walk the username index to spare
    # itself sorting a few groups, and read every row at random through it (five times slower).
    rows = (
        queryset.values(owner_name=Coalesce("username", Value("")))
        .annotate(n=Count("pk"), **conditions)
        .order_by("owner_name")
    )
    return [
        {"username": row["owner_name"], "count": row["n"], **{name: row[f"n_{name}"] for name in clauses}}
        for row in rows
    ]


def page_rows(
    matching: Callable[[], QuerySet],
    ordering: list[str],
    offset: int,
    limit: int,
    total: int,
    ids_first: bool = False,
    shape: Hashable | None = None,
) -> list[ApiKey]:
    """One page of the keys `matching()` gives, in `ordering`. Pages past the middle are walked from the end,
    the order reversed (NULLs flip with it on SQLite and PostgreSQL alike), so the last page costs what the first
    does. Near either end the rows are read in one statement, the one kept for the page's `shape` when named
    (`fast_rows.KeptStatements`). Further in, or when an index holds both the filter and the order (`ids_first`:
    the Expiring soon page, 0.2 ms to sort its 700 ids at 100,000 keys against 1.6 ms reading each match's row
    and owner), the page's ids come first, from an index alone, then only their rows."""
    if offset >= total:
        return []
    backwards = offset > total // 2
    end = min(offset + limit, total)
    skip = total - end if backwards else offset
    order = [f[1:] if f.startswith("-") else f"-{f}" for f in ordering] if backwards else ordering

    def ordered() -> QuerySet:
        return matching().order_by(*order)[skip : skip + end - offset]

    if skip <= READ_ROWS_WHEN_SKIPPING and not ids_first:
        key = None if shape is None else (shape, tuple(order), skip, end - offset)
        db, rows = PAGE_STATEMENTS.rows(key, lambda: ordered().values_list(*ROW_FIELDS, OWNER_ENABLED))
        keys = [_row(db, values) for values in rows]
    else:
        ordered = ordered()
        ids = list(ordered.values_list("id", flat=True))
        rows = ApiKey.objects.filter(pk__in=ids).values_list(*ROW_FIELDS, OWNER_ENABLED)
        found = {key.id: key for key in (_row(ordered.db, values) for values in rows)}
        keys = [found[i] for i in ids if i in found]
    return keys[::-1] if backwards else keys


def _row(db: str, values: tuple) -> ApiKey:
    """A listed key from its row's values: the columns a row shows, and `owner_enabled`."""
    key = ApiKey.from_db(db, ROW_ATTNAMES, values[:-1])
    key.owner_enabled = values[-1]
    return key


def sparklines(keys: list[ApiKey]) -> dict[str, list[int]]:
    """Each listed key's requests per day over the last `SPARKLINE_DAYS`, oldest first."""
    return usage.daily_totals([key.id for key in keys], SPARKLINE_DAYS)
