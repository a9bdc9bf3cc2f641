"""The query DSL of `/_security/_query/api_key` (and the console's search) compiled to the ORM.

`fields` (what a query may name), `datemath` (dates and `now-1d/d`), `dsl` (clauses to a `Q`), `sort`
(order and `search_after`), `aggregations`, `searching` (one whole request). Every read of keys by a query
goes through here: indexed columns, never a filter in Python.
"""

from apikeys.domain.errors import QueryError
from apikeys.query.aggregations import AGGREGATION_TYPES, MAX_BUCKETS, compute_aggregations
from apikeys.query.datemath import parse_date
from apikeys.query.dsl import MAX_CLAUSE_COUNT, any_of, compile_query
from apikeys.query.fields import FIELDS, Field, name_filter, resolve_field
from apikeys.query.searching import (
    MAX_RESULT_WINDOW,
    SEARCH_FIELDS,
    SearchResult,
    search,
    walking_the_sort,
    walks_the_sort,
)
from apikeys.query.sort import SortKey, apply_sort, parse_sort, sort_values

__all__ = [
    "AGGREGATION_TYPES",
    "FIELDS",
    "MAX_BUCKETS",
    "MAX_CLAUSE_COUNT",
    "MAX_RESULT_WINDOW",
    "SEARCH_FIELDS",
    "Field",
    "QueryError",
    "SearchResult",
    "SortKey",
    "any_of",
    "apply_sort",
    "compile_query",
    "compute_aggregations",
    "name_filter",
    "parse_date",
    "parse_sort",
    "resolve_field",
    "search",
    "sort_values",
    "walking_the_sort",
    "walks_the_sort",
]
