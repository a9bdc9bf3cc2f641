"""The query DSL of `/_security/_query/api_key` (and the console's search) compiled to the ORM.

Every read of keys goes through `search()`: the query becomes a `Q` over indexed columns (metadata
through JSON key lookups that work on SQLite and PostgreSQL), never a filter in Python. Values are data:
`%`, `_` and `\\` in a prefix or wildcard match themselves.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import combinations
from math import comb
from typing import Any

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db.models import BooleanField, Count, Expression, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, In, IsNull, LessThan, LessThanOrEqual
from django.utils import timezone

from .lookups import CaseInsensitiveWildcard, FlattenedLeaf, Likely, Wildcard, escape_wildcard
from .models import ApiKey

MAX_RESULT_WINDOW = 10_000
# Elasticsearch's `search.max_buckets`: also keeps a bucket count within what a LIMIT takes.
MAX_BUCKETS = 65_536


class QueryError(ValueError):
    """A query the engine refuses; `error_type` is the Elasticsearch exception type to answer with."""

    def __init__(self, reason: str, error_type: str = "illegal_argument_exception"):
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type


@dataclass(frozen=True)
class Field:
    name: str
    column: str
    kind: str  # keyword | date | boolean | json
    nullable: bool = False

    def expression(self):
        if self.kind == "json":
            return FlattenedLeaf("metadata", self.name.split(".")[1:])
        return F(self.column)


FIELDS = {
    "name": Field("name", "name", "keyword"),
    "type": Field("type", "type", "keyword"),
    "username": Field("username", "username", "keyword"),
    "realm_name": Field("realm_name", "realm", "keyword"),
    "creation": Field("creation", "creation", "date"),
    "expiration": Field("expiration", "expiration", "date", nullable=True),
    "invalidated": Field("invalidated", "invalidated", "boolean"),
    "invalidation": Field("invalidation", "invalidation", "date", nullable=True),
}
_METADATA_PATH = re.compile(r"metadata\.([A-Za-z0-9@$\-][A-Za-z0-9_@$\-]*(\.[A-Za-z0-9_@$\-]+)*)")


def resolve_field(name: Any, allow_bare_metadata: bool = False) -> Field:
    if isinstance(name, str):
        if name in FIELDS:
            return FIELDS[name]
        if name == "metadata" and allow_bare_metadata:
            return Field("metadata", "metadata", "object", nullable=True)
        match = _METADATA_PATH.fullmatch(name)
        if match:
            return Field(name, "metadata__" + match.group(1).replace(".", "__"), "json", nullable=True)
    raise QueryError(f"Field [{name}] is not allowed for querying or aggregation")


def name_filter(name: str) -> Q:
    """The key-name selector of the get and invalidate APIs: `*` is every key, a trailing `*` a prefix."""
    if name == "*":
        return Q()
    if name.endswith("*"):
        return Q(Wildcard(F("name"), escape_wildcard(name[:-1]) + "*"))
    return Q(name=name)


# --- Values -----------------------------------------------------------------------------------------------

_DATE_MATH = re.compile(r"now((?:[+-]\d+[yMwdhHms])*)(?:/([yMwdhHms]))?")
_DATE_MATH_STEP = re.compile(r"([+-])(\d+)([yMwdhHms])")


def _round_down(moment: datetime, unit: str) -> datetime:
    if unit == "y":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        start = moment - timedelta(days=moment.weekday())
        return start.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit in "hH":
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)


def _add(moment: datetime, sign: int, amount: int, unit: str) -> datetime:
    if unit in "yM":
        months = moment.month - 1 + sign * amount * (12 if unit == "y" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        day = min(
            moment.day,
            [
                31,
                29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ][month - 1],
        )
        return moment.replace(year=year, month=month, day=day)
    seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    return moment + timedelta(seconds=sign * amount * seconds)


def parse_date(value: Any, now: datetime | None = None) -> datetime:
    """A date as Elasticsearch takes it: epoch milliseconds, ISO 8601, or date math such as `now-1d/d`."""
    try:
        moment = _read_date(value, now)
    except (ValueError, OverflowError, OSError):  # unparseable, or beyond any datetime (year 300,000, say)
        moment = None
    if moment is None:
        raise QueryError(
            f"failed to parse date field [{value}] with format [strict_date_optional_time||epoch_millis]",
            "parse_exception",
        )
    return moment


def _read_date(value: Any, now: datetime | None) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        math = _DATE_MATH.fullmatch(text)
        if math:
            moment = now or timezone.now()
            for sign, amount, unit in _DATE_MATH_STEP.findall(math.group(1)):
                moment = _add(moment, 1 if sign == "+" else -1, int(amount), unit)
            return _round_down(moment, math.group(2)) if math.group(2) else moment
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def to_millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise QueryError(f"Can't parse boolean value [{value}], expected [true] or [false]")


def _keyword(value: Any) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise QueryError(f"[term] query does not support value [{value}]: expected a string, number or boolean")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_value(fld: Field, value: Any) -> Any:
    if fld.kind == "date":
        return parse_date(value)
    if fld.kind == "boolean":
        return _parse_bool(value)
    return _keyword(value)


def _term(fld: Field, value: Any, case_insensitive: bool = False) -> Q:
    if fld.kind == "object":
        raise QueryError(f"Field [{fld.name}] can only be queried with [exists]")
    if case_insensitive and fld.kind in ("keyword", "json"):
        return _on(fld, CaseInsensitiveWildcard(fld.expression(), escape_wildcard(_keyword(value))))
    if fld.name == "metadata.managed" and _keyword(value) == "true":
        # The indexed `managed` column mirrors metadata.managed (ApiKey.save keeps them together).
        return Q(managed__in=[True])
    if fld.kind == "json":
        # Metadata is matched like Elasticsearch's flattened field: leaf values compared as keywords.
        return _on(fld, Exact(fld.expression(), _keyword(value)))
    if fld.kind == "boolean":
        # `IN (…)`, not Django's bare `"column"` / `NOT "column"`, which SQLite cannot answer from an index.
        return Q(**{f"{fld.column}__in": [field_value(fld, value)]})
    return Q(**{fld.column: field_value(fld, value)})


def _on(fld: Field, condition: Any) -> Q:
    """`condition` on a field; on a metadata leaf, also that the leaf is there. A missing leaf is NULL, and
    SQL's NOT of a comparison with NULL is NULL, which no filter passes: without this, `must_not` would
    drop every key that lacks the leaf instead of keeping it."""
    return Q(condition) & _present(fld) if fld.kind == "json" else Q(condition)


# --- Clauses ----------------------------------------------------------------------------------------------


def _single_field(clause: str, body: Any) -> tuple[str, Any]:
    if not isinstance(body, Mapping):
        raise QueryError(f"[{clause}] query malformed, no start_object after query name", "parsing_exception")
    names = [k for k in body if k not in ("boost", "_name")]
    if len(names) != 1:
        raise QueryError(f"[{clause}] query doesn't support multiple fields, found {names}", "parsing_exception")
    return names[0], body[names[0]]


def _options(clause: str, value: Any, value_key: str, allowed: set[str]) -> tuple[Any, dict[str, Any]]:
    if isinstance(value, Mapping):
        unknown = set(value) - allowed - {value_key, "boost", "_name"}
        if unknown:
            raise QueryError(f"[{clause}] query does not support [{sorted(unknown)[0]}]", "parsing_exception")
        if value_key not in value:
            raise QueryError(f"[{clause}] query requires [{value_key}]", "parsing_exception")
        return value[value_key], dict(value)
    return value, {}


def compile_query(query: Any) -> Q:
    if query is None:
        return Q()
    if not isinstance(query, Mapping) or len(query) != 1:
        raise QueryError("[query] must be an object with exactly one query clause", "parsing_exception")
    ((clause, body),) = query.items()
    compiler = _CLAUSES.get(clause)
    if compiler is None:
        raise QueryError(f"Query type [{clause}] is not currently supported in this context")
    # An empty Q matches every row when filtered on, but vanishes from an OR (`Q(x) | Q()` is `Q(x)`) and
    # negates to itself: a clause that matches everything must say so to survive should and must_not.
    compiled = compiler(body) or MATCH_EVERYTHING
    _check_clause_count(clause_count(compiled))
    return compiled


# Like Elasticsearch's `indices.query.bool.max_clause_count`, lower: SQLite parses no expression nested over
# 1,000 deep, and an OR of N conditions is N deep.
MAX_CLAUSE_COUNT = 512


def clause_count(q: Q) -> int:
    """The conditions a compiled query holds (an `IN` list counts once)."""
    return sum(clause_count(child) if isinstance(child, Q) else 1 for child in q.children)


def _check_clause_count(count: int) -> None:
    if count > MAX_CLAUSE_COUNT:
        raise QueryError(
            f"Query contains too many nested clauses; maxClauseCount is set to {MAX_CLAUSE_COUNT}",
            "too_many_nested_clauses",
        )


MATCH_EVERYTHING = Q(pk__isnull=False)


def _match_all(body: Any) -> Q:
    return Q()


def _ids(body: Any) -> Q:
    if not isinstance(body, Mapping) or not isinstance(body.get("values"), list):
        raise QueryError("[ids] query requires [values] to be an array", "parsing_exception")
    return Q(id__in=[str(v) for v in body["values"]])


def _term_clause(body: Any) -> Q:
    name, value = _single_field("term", body)
    value, opts = _options("term", value, "value", {"case_insensitive"})
    return _term(resolve_field(name), value, bool(opts.get("case_insensitive")))


def _terms(body: Any) -> Q:
    name, values = _single_field("terms", body)
    if not isinstance(values, list):
        raise QueryError("[terms] query requires an array of values", "parsing_exception")
    fld = resolve_field(name)
    if fld.kind == "object":
        raise QueryError(f"Field [{fld.name}] can only be queried with [exists]")
    # One `IN (…)`, not an OR per value: SQLite parses no expression nested over 1,000 deep.
    if fld.kind == "json":
        return _on(fld, In(fld.expression(), [_keyword(value) for value in values]))
    return Q(**{f"{fld.column}__in": [field_value(fld, value) for value in values]})


def _prefix(body: Any) -> Q:
    name, value = _single_field("prefix", body)
    value, opts = _options("prefix", value, "value", {"case_insensitive", "rewrite"})
    return _pattern(resolve_field(name), escape_wildcard(_keyword(value)) + "*", bool(opts.get("case_insensitive")))


def _wildcard(body: Any) -> Q:
    name, value = _single_field("wildcard", body)
    if isinstance(value, Mapping) and "wildcard" in value and "value" not in value:
        value = {**value, "value": value["wildcard"]}
        value.pop("wildcard")
    value, opts = _options("wildcard", value, "value", {"case_insensitive", "rewrite"})
    return _pattern(resolve_field(name), _keyword(value), bool(opts.get("case_insensitive")))


def _pattern(fld: Field, pattern: str, case_insensitive: bool) -> Q:
    if fld.kind not in ("keyword", "json"):
        raise QueryError(f"Field [{fld.name}] of type [{fld.kind}] does not support wildcard or prefix queries")
    if case_insensitive:
        return _on(fld, CaseInsensitiveWildcard(fld.expression(), pattern))
    return _on(fld, Wildcard(fld.expression(), pattern))


def _match(body: Any) -> Q:
    name, value = _single_field("match", body)
    value, opts = _options("match", value, "query", {"operator", "analyzer", "lenient", "zero_terms_query"})
    return _term(resolve_field(name), value)


def _range(body: Any) -> Q:
    name, bounds = _single_field("range", body)
    if not isinstance(bounds, Mapping):
        raise QueryError("[range] query malformed, expected an object of bounds", "parsing_exception")
    fld = resolve_field(name)
    if fld.kind == "object":
        raise QueryError(f"Field [{fld.name}] can only be queried with [exists]")
    unknown = set(bounds) - {"gt", "gte", "lt", "lte", "format", "time_zone", "boost", "relation"}
    if unknown:
        raise QueryError(f"[range] query does not support [{sorted(unknown)[0]}]", "parsing_exception")
    result = Q()
    for op in ("gt", "gte", "lt", "lte"):
        if op in bounds and bounds[op] is not None:
            value = bounds[op]
            if fld.kind == "json":
                # Flattened leaves are keywords: numbers included, they compare as strings.
                result &= _on(fld, _TEXT_COMPARISONS[op](fld.expression(), _keyword(value)))
            else:
                result &= Q(**{f"{fld.column}__{op}": field_value(fld, value)})
    return result


_TEXT_COMPARISONS = {"gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan, "lte": LessThanOrEqual}


def _exists(body: Any) -> Q:
    if not isinstance(body, Mapping) or not isinstance(body.get("field"), str):
        raise QueryError("[exists] query requires [field]", "parsing_exception")
    fld = resolve_field(body["field"], allow_bare_metadata=True)
    if fld.kind == "object":
        return ~Q(metadata={})
    if fld.nullable:
        return _present(fld)
    return Q()


def _bool(body: Any) -> Q:
    if not isinstance(body, Mapping):
        raise QueryError("[bool] query malformed", "parsing_exception")
    unknown = set(body) - {"must", "filter", "should", "must_not", "minimum_should_match", "boost", "_name"}
    if unknown:
        raise QueryError(f"[bool] query does not support [{sorted(unknown)[0]}]", "parsing_exception")

    def clauses(key: str) -> list[Q]:
        value = body.get(key, [])
        return [compile_query(c) for c in (value if isinstance(value, list) else [value])]

    required = clauses("must") + clauses("filter")
    result = Q()
    for q in required:
        result &= q
    for q in clauses("must_not"):
        result &= ~q
    should = clauses("should")
    if should:
        minimum = _minimum_should_match(body.get("minimum_should_match", 0), len(should))
        if not required:
            # As in Lucene: without a must or filter clause, at least one should clause has to match.
            minimum = max(minimum, 1)
        if minimum == 1:
            result &= any_of(should)
        elif minimum > 1:
            result &= _at_least(should, minimum)
    return result


def any_of(queries: list[Q]) -> Q:
    """OR of `queries`. An empty Q (match_all) matches everything: Django's `Q(...) | Q()` would drop it."""
    if any(not q for q in queries):
        return Q()
    if not queries:
        return Q(pk__in=[])
    result = queries[0]
    for q in queries[1:]:
        result |= q
    return result


def _minimum_should_match(value: Any, count: int) -> int:
    if isinstance(value, bool):
        raise QueryError("[minimum_should_match] must be an integer or a percentage")
    if isinstance(value, int):
        number = value if value >= 0 else count + value
    elif isinstance(value, str) and re.fullmatch(r"-?\d+%?", value.strip()):
        text = value.strip()
        if text.endswith("%"):
            percent = int(text[:-1])
            number = count * percent // 100 if percent >= 0 else count - count * -percent // 100
        else:
            number = int(text) if int(text) >= 0 else count + int(text)
    else:
        raise QueryError(f"[minimum_should_match] must be an integer or a percentage, got [{value}]")
    return max(0, min(number, count)) if number <= count else count + 1


def _at_least(queries: list[Q], minimum: int) -> Q:
    """True when at least `minimum` of `queries` hold: an OR over the combinations (few clauses in practice)."""
    if minimum > len(queries):
        return Q(pk__in=[])
    if len(queries) > 8:
        raise QueryError("[minimum_should_match] above 1 is supported for at most 8 [should] clauses")
    # Every combination repeats its clauses: refuse before building what would be too big.
    _check_clause_count(comb(len(queries) - 1, minimum - 1) * sum(clause_count(q) for q in queries))
    result = Q(pk__in=[])
    for combo in combinations(queries, minimum):
        both = Q()
        for q in combo:
            both &= q
        result |= both
    return result


_SQS_TOKEN = re.compile(r'\s*([+|-]?)\s*(?:"([^"]*)"|([^\s"|+]+))')


def _simple_query_string(body: Any) -> Q:
    if not isinstance(body, Mapping) or not isinstance(body.get("query"), str):
        raise QueryError("[simple_query_string] requires [query]", "parsing_exception")
    unknown = set(body) - {
        "query",
        "fields",
        "default_operator",
        "analyze_wildcard",
        "boost",
        "_name",
        "lenient",
        "flags",
    }
    if unknown:
        raise QueryError(f"[simple_query_string] does not support [{sorted(unknown)[0]}]", "parsing_exception")
    fields = [resolve_field(f) for f in body.get("fields", ["name"])]
    if any(f.kind not in ("keyword", "json") for f in fields):
        raise QueryError("[simple_query_string] only searches keyword fields")
    operator = str(body.get("default_operator", "or")).lower()
    if operator not in ("or", "and"):
        raise QueryError(f"[simple_query_string] unknown default_operator [{operator}]")
    must, should, must_not = [], [], []
    for sign, phrase, word in _SQS_TOKEN.findall(body["query"]):
        text = phrase if phrase or not word else word
        if not text:
            continue
        if phrase:
            pattern = escape_wildcard(text)
        elif text.endswith("*"):
            pattern = escape_wildcard(text[:-1]) + "*"
        else:
            pattern = escape_wildcard(text)
        any_field = any_of([_on(fld, Wildcard(fld.expression(), pattern)) for fld in fields])
        if sign == "-":
            must_not.append(any_field)
        elif sign == "+" or operator == "and":
            must.append(any_field)
        else:
            should.append(any_field)
    result = Q()
    for q in must:
        result &= q
    for q in must_not:
        result &= ~q
    if should:
        result &= any_of(should)
    return result


_CLAUSES = {
    "match_all": _match_all,
    "ids": _ids,
    "term": _term_clause,
    "terms": _terms,
    "prefix": _prefix,
    "wildcard": _wildcard,
    "match": _match,
    "range": _range,
    "exists": _exists,
    "bool": _bool,
    "simple_query_string": _simple_query_string,
}


# --- Sort and paging --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    field: Field
    descending: bool


def parse_sort(sort: Any) -> list[SortKey]:
    if sort is None:
        return []
    items = sort if isinstance(sort, list) else [sort]
    keys = []
    for item in items:
        if isinstance(item, str):
            name, order = item, "asc"
        elif isinstance(item, Mapping) and len(item) == 1:
            ((name, spec),) = item.items()
            if isinstance(spec, str):
                order = spec
            elif isinstance(spec, Mapping):
                unknown = set(spec) - {"order", "missing", "unmapped_type", "format"}
                if unknown:
                    raise QueryError(f"[sort] option [{sorted(unknown)[0]}] is not supported")
                order = spec.get("order", "asc")
            else:
                raise QueryError(f"[sort] malformed entry [{item}]", "parsing_exception")
        else:
            raise QueryError(f"[sort] malformed entry [{item}]", "parsing_exception")
        if name == "id" or name == "_id":
            raise QueryError("Field [id] is not allowed for sorting; sort on another field (ties are broken by id)")
        if order not in ("asc", "desc"):
            raise QueryError(f"[sort] unknown order [{order}]; use [asc] or [desc]")
        keys.append(SortKey(resolve_field(name), order == "desc"))
    return keys


def _sort_value(fld: Field, value: Any) -> Any:
    if value is None:
        return None
    if fld.kind == "date":
        return parse_date(value)
    if fld.kind == "boolean":
        return _parse_bool(value) if not isinstance(value, int) else bool(value)
    return _keyword(value)


def _after(names: list[str], keys: list[SortKey], values: list[Any]) -> Q:
    """Rows strictly after `values` in the order of `keys` (nulls last, as Elasticsearch sorts missing)."""
    result = Q(pk__in=[])
    equal_so_far = Q()
    for name, key, value in zip(names, keys, values, strict=True):
        if value is None:
            after = Q(pk__in=[])
            same = Q(**{f"{name}__isnull": True})
        else:
            after = Q(**{f"{name}__{'lt' if key.descending else 'gt'}": value})
            if key.field.nullable:
                after |= Q(**{f"{name}__isnull": True})
            same = Q(**{name: value})
        result |= equal_so_far & after
        equal_so_far &= same
    return result


SEARCH_AFTER_SHAPE = (
    "[search_after] needs a [sort] and one value per sort field (optionally followed by the last key's id)"
)


class RowAfter(Expression):
    """`(a, b, …) > (x, y, …)` (or `<`): one index seek for keyset paging when every key runs one way."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, expressions: list[Any], values: list[Any], descending: bool):
        super().__init__()
        self.expressions, self.values, self.descending = expressions, values, descending

    def get_source_expressions(self) -> list[Any]:
        return self.expressions

    def set_source_expressions(self, expressions: list[Any]) -> None:
        self.expressions = expressions

    def as_sql(self, compiler, connection):
        columns, params = [], []
        for expression in self.expressions:
            sql, expression_params = compiler.compile(expression)
            columns.append(sql)
            params.extend(expression_params)
        values = [connection.ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in self.values]
        operator = "<" if self.descending else ">"
        placeholders = ", ".join(["%s"] * len(values))
        return f"({', '.join(columns)}) {operator} ({placeholders})", [*params, *values]


def apply_sort(queryset: QuerySet, keys: list[SortKey], search_after: Any = None) -> QuerySet:
    """Order by `keys`, ties broken by id in the last key's direction (so one index serves the whole
    order); with `search_after`, keep only the rows after those values."""
    names = [f"_sort{i}" for i in range(len(keys))]
    tie = SortKey(Field("id", "id", "keyword"), keys[-1].descending if keys else False)
    if keys:
        queryset = queryset.annotate(**{n: k.field.expression() for n, k in zip(names, keys, strict=True)})
    if search_after is not None:
        if not keys or not isinstance(search_after, list) or len(search_after) not in (len(keys), len(keys) + 1):
            raise QueryError(SEARCH_AFTER_SHAPE)
        values = [_sort_value(k.field, v) for k, v in zip(keys, search_after, strict=False)]
        after_keys, after_names = list(keys), list(names)
        if len(search_after) == len(keys) + 1:
            after_keys.append(tie)
            after_names.append("id")
            values.append(str(search_after[-1]))
        one_way = len({k.descending for k in after_keys}) == 1
        if one_way and None not in values and not any(k.field.nullable for k in after_keys):
            expressions = [k.field.expression() for k in after_keys]
            queryset = queryset.filter(RowAfter(expressions, values, after_keys[0].descending))
        else:
            queryset = queryset.filter(_after(after_names, after_keys, values))
    # Missing values sort last, as in Elasticsearch. Saying so only where a value can be missing: an index
    # read backwards gives DESC NULLS FIRST, so a needless NULLS LAST keeps PostgreSQL from using it.
    order = [
        (F(n).desc(nulls_last=True) if k.descending else F(n).asc(nulls_last=True))
        if k.field.nullable or k.field.kind == "json"
        else (F(n).desc() if k.descending else F(n).asc())
        for n, k in zip(names, keys, strict=True)
    ]
    return queryset.order_by(*order, "-id" if tie.descending else "id")


def sort_values(key: ApiKey, keys: list[SortKey]) -> list[Any]:
    """The `_sort` array of a hit: each sort value (dates as epoch ms), then the id that breaks ties."""
    values: list[Any] = []
    for i, k in enumerate(keys):
        value = getattr(key, f"_sort{i}")
        if k.field.kind == "date":
            value = to_millis(value)
        values.append(value)
    return [*values, key.id]


# --- Aggregations -----------------------------------------------------------------------------------------

AGGREGATION_TYPES = {
    "terms": "sterms",
    "range": "range",
    "date_range": "date_range",
    "missing": "missing",
    "cardinality": "cardinality",
    "value_count": "value_count",
    "filter": "filter",
    "filters": "filters",
    "composite": "composite",
}


def _agg_key(fld: Field, value: Any) -> dict[str, Any]:
    if fld.kind == "date":
        millis = to_millis(value)
        return {"key": millis, "key_as_string": value.isoformat().replace("+00:00", "Z")}
    if fld.kind == "boolean":
        return {"key": int(value), "key_as_string": "true" if value else "false"}
    return {"key": value}


def _typed(name: str, kind: str, fld: Field | None, typed_keys: bool) -> str:
    if not typed_keys:
        return name
    prefix = AGGREGATION_TYPES[kind]
    if kind == "terms" and fld is not None and fld.kind in ("date", "boolean"):
        prefix = "lterms"
    return f"{prefix}#{name}"


def _agg_field(body: Mapping[str, Any], kind: str) -> Field:
    if "field" not in body:
        raise QueryError(f"Required [field] missing for aggregation of type [{kind}]")
    fld = resolve_field(body["field"])
    return fld


def _check_keys(kind: str, body: Any, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise QueryError(f"[{kind}] aggregation must be an object", "parsing_exception")
    unknown = set(body) - allowed
    if unknown:
        raise QueryError(f"[{kind}] aggregation does not support [{sorted(unknown)[0]}]", "parsing_exception")
    return body


def compute_aggregations(queryset: QuerySet, aggs: Any, typed_keys: bool = False) -> dict[str, Any]:
    if not isinstance(aggs, Mapping):
        raise QueryError("[aggs] must be an object of named aggregations", "parsing_exception")
    out: dict[str, Any] = {}
    for name, spec in aggs.items():
        if not isinstance(spec, Mapping):
            raise QueryError(f"aggregation [{name}] must be an object", "parsing_exception")
        kinds = [k for k in spec if k not in ("aggs", "aggregations", "meta")]
        if len(kinds) != 1:
            raise QueryError(f"aggregation [{name}] must name exactly one aggregation type", "parsing_exception")
        kind = kinds[0]
        if kind not in AGGREGATION_TYPES:
            raise QueryError(f"Unsupported aggregation of type [{kind}] with name [{name}]")
        sub = spec.get("aggs", spec.get("aggregations"))
        result, fld = _AGGREGATIONS[kind](queryset, spec[kind], sub, typed_keys)
        out[_typed(name, kind, fld, typed_keys)] = result
    return out


def _with_sub(queryset: QuerySet, bucket: dict[str, Any], sub: Any, typed_keys: bool) -> dict[str, Any]:
    if sub:
        bucket.update(compute_aggregations(queryset, sub, typed_keys))
    return bucket


def _terms_agg(queryset, body, sub, typed_keys):
    body = _check_keys("terms", body, {"field", "size", "order", "missing", "min_doc_count", "shard_size"})
    fld = _agg_field(body, "terms")
    size = body.get("size", 10)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise QueryError("[size] must be greater than 0 in the terms aggregation")
    if size > MAX_BUCKETS:
        raise QueryError(f"[size] must be at most [{MAX_BUCKETS}] in the terms aggregation")
    order = body.get("order", {"_count": "desc"})
    if not isinstance(order, Mapping) or len(order) != 1:
        raise QueryError('[order] must be {"_count": "asc|desc"} or {"_key": "asc|desc"}')
    ((by, direction),) = order.items()
    if by not in ("_count", "_key") or direction not in ("asc", "desc"):
        raise QueryError('[order] must be {"_count": "asc|desc"} or {"_key": "asc|desc"}')
    grouped = (
        queryset.annotate(_agg=fld.expression()).filter(_agg__isnull=False).values("_agg").annotate(_n=Count("pk"))
    )
    sign = "-" if direction == "desc" else ""
    grouped = grouped.order_by(f"{sign}_n", "_agg") if by == "_count" else grouped.order_by(f"{sign}_agg")
    rows = list(grouped[:size])
    total = queryset.annotate(_agg=fld.expression()).filter(_agg__isnull=False).count()
    buckets = []
    for row in rows:
        bucket = {**_agg_key(fld, row["_agg"]), "doc_count": row["_n"]}
        buckets.append(_with_sub(queryset.filter(_exact(fld, row["_agg"])), bucket, sub, typed_keys))
    if "missing" in body:
        missing_qs = queryset.filter(~_present(fld))
        count = missing_qs.count()
        if count:
            buckets.append(_with_sub(missing_qs, {"key": body["missing"], "doc_count": count}, sub, typed_keys))
    result = {
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": total - sum(r["_n"] for r in rows),
        "buckets": buckets,
    }
    return result, fld


def _exact(fld: Field, value: Any) -> Q:
    if fld.kind == "json":
        return Q(Exact(fld.expression(), value))
    return Q(**{fld.column: value})


def _present(fld: Field) -> Q:
    if fld.kind == "json":
        return Q(IsNull(fld.expression(), False))
    return Q(**{f"{fld.column}__isnull": False})


def _range_agg(queryset, body, sub, typed_keys, kind="range"):
    body = _check_keys(kind, body, {"field", "ranges", "keyed", "format", "time_zone"})
    fld = _agg_field(body, kind)
    if kind == "date_range" and fld.kind != "date":
        raise QueryError(f"[date_range] aggregation needs a date field, not [{fld.name}]")
    if fld.kind not in ("date", "json"):
        raise QueryError(f"[{kind}] aggregation needs a date or numeric field, not [{fld.name}]")
    ranges = body.get("ranges")
    if not isinstance(ranges, list) or not ranges:
        raise QueryError(f"[{kind}] aggregation requires a non-empty [ranges] array")
    buckets = []
    for entry in ranges:
        if not isinstance(entry, Mapping) or set(entry) - {"from", "to", "key"}:
            raise QueryError(f"[{kind}] each range is an object with [from], [to] and optional [key]")
        condition = _present(fld)
        bucket: dict[str, Any] = {}
        low = high = None
        if entry.get("from") is not None:
            low = parse_date(entry["from"]) if fld.kind == "date" else _number(kind, entry["from"])
            condition &= Q(**{f"{fld.column}__gte": low})
        if entry.get("to") is not None:
            high = parse_date(entry["to"]) if fld.kind == "date" else _number(kind, entry["to"])
            condition &= Q(**{f"{fld.column}__lt": high})
        bucket["key"] = entry.get("key") or _range_key(low, high)
        if low is not None:
            bucket["from"] = to_millis(low) if fld.kind == "date" else low
            if fld.kind == "date":
                bucket["from_as_string"] = low.isoformat().replace("+00:00", "Z")
        if high is not None:
            bucket["to"] = to_millis(high) if fld.kind == "date" else high
            if fld.kind == "date":
                bucket["to_as_string"] = high.isoformat().replace("+00:00", "Z")
        subset = queryset.filter(condition)
        bucket["doc_count"] = subset.count()
        buckets.append(_with_sub(subset, bucket, sub, typed_keys))
    if body.get("keyed"):
        return {"buckets": {b.pop("key"): b for b in buckets}}, fld
    return {"buckets": buckets}, fld


def _number(kind: str, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QueryError(f"[{kind}] aggregation bounds on a non-date field must be numbers, not [{value}]")
    return value


def _range_key(low: Any, high: Any) -> str:
    def text(v: Any) -> str:
        if v is None:
            return "*"
        if isinstance(v, datetime):
            return v.isoformat().replace("+00:00", "Z")
        return str(float(v))

    return f"{text(low)}-{text(high)}"


def _date_range_agg(queryset, body, sub, typed_keys):
    return _range_agg(queryset, body, sub, typed_keys, kind="date_range")


def _missing_agg(queryset, body, sub, typed_keys):
    body = _check_keys("missing", body, {"field"})
    fld = resolve_field(body.get("field"), allow_bare_metadata=True)
    if fld.kind == "object":
        subset = queryset.filter(metadata={})
    elif fld.nullable or fld.kind == "json":
        subset = queryset.filter(~_present(fld))
    else:
        subset = queryset.none()
    return _with_sub(subset, {"doc_count": subset.count()}, sub, typed_keys), fld


def _cardinality_agg(queryset, body, sub, typed_keys):
    body = _check_keys("cardinality", body, {"field", "precision_threshold"})
    fld = _agg_field(body, "cardinality")
    value = queryset.annotate(_agg=fld.expression()).filter(_agg__isnull=False).values("_agg").distinct().count()
    return {"value": value}, fld


def _value_count_agg(queryset, body, sub, typed_keys):
    body = _check_keys("value_count", body, {"field"})
    fld = _agg_field(body, "value_count")
    return {"value": queryset.annotate(_agg=fld.expression()).filter(_agg__isnull=False).count()}, fld


def _filter_agg(queryset, body, sub, typed_keys):
    subset = queryset.filter(compile_query(body))
    return _with_sub(subset, {"doc_count": subset.count()}, sub, typed_keys), None


def _filters_agg(queryset, body, sub, typed_keys):
    body = _check_keys("filters", body, {"filters", "other_bucket", "other_bucket_key"})
    filters = body.get("filters")
    if isinstance(filters, Mapping):
        named = [(name, compile_query(q)) for name, q in filters.items()]
    elif isinstance(filters, list):
        named = [(None, compile_query(q)) for q in filters]
    else:
        raise QueryError("[filters] aggregation requires [filters] as an object or an array")
    buckets = []
    for name, condition in named:
        subset = queryset.filter(condition)
        bucket = _with_sub(subset, {"doc_count": subset.count()}, sub, typed_keys)
        buckets.append((name, bucket))
    other_key = body.get("other_bucket_key")
    if other_key is not None and not isinstance(other_key, str):
        raise QueryError("[filters] aggregation [other_bucket_key] must be a string")
    if body.get("other_bucket") or other_key:
        rest = queryset
        for _, condition in named:
            rest = rest.exclude(condition)
        buckets.append((other_key or "_other_", _with_sub(rest, {"doc_count": rest.count()}, sub, typed_keys)))
    if isinstance(filters, Mapping):
        return {"buckets": dict(buckets)}, None
    return {"buckets": [b for _, b in buckets]}, None


def _composite_agg(queryset, body, sub, typed_keys):
    body = _check_keys("composite", body, {"sources", "size", "after"})
    sources = body.get("sources")
    if not isinstance(sources, list) or not sources:
        raise QueryError("[composite] aggregation requires a non-empty [sources] array")
    size = body.get("size", 10)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_BUCKETS:
        raise QueryError(f"[composite] [size] must be a positive integer, at most [{MAX_BUCKETS}]")
    names, keys = [], []
    for source in sources:
        if not isinstance(source, Mapping) or len(source) != 1:
            raise QueryError('[composite] each source is {name: {"terms": {"field": ...}}}')
        ((name, spec),) = source.items()
        if not isinstance(spec, Mapping) or set(spec) != {"terms"}:
            raise QueryError("[composite] only [terms] sources are supported")
        terms = _check_keys("terms", spec["terms"], {"field", "order", "missing_bucket"})
        fld = _agg_field(terms, "terms")
        if terms.get("order", "asc") not in ("asc", "desc"):
            raise QueryError("[composite] source order must be [asc] or [desc]")
        names.append(name)
        keys.append(SortKey(fld, terms.get("order", "asc") == "desc"))
    columns = [f"_sort{i}" for i in range(len(keys))]
    grouped = queryset.annotate(**{c: k.field.expression() for c, k in zip(columns, keys, strict=True)})
    for c in columns:
        grouped = grouped.filter(**{f"{c}__isnull": False})
    after = body.get("after")
    if after is not None:
        if not isinstance(after, Mapping) or set(after) != set(names):
            raise QueryError("[composite] [after] must name every source")
        values = [_sort_value(k.field, after[n]) for n, k in zip(names, keys, strict=True)]
        grouped = grouped.filter(_after(columns, keys, values))
    grouped = grouped.values(*columns).annotate(_n=Count("pk"))
    grouped = grouped.order_by(*[f"-{c}" if k.descending else c for c, k in zip(columns, keys, strict=True)])
    buckets = []
    for row in grouped[:size]:
        key = {}
        for n, c, k in zip(names, columns, keys, strict=True):
            key[n] = _agg_key(k.field, row[c])["key"]
        condition = Q()
        for c, k in zip(columns, keys, strict=True):
            condition &= _exact(k.field, row[c])
        buckets.append(_with_sub(queryset.filter(condition), {"key": key, "doc_count": row["_n"]}, sub, typed_keys))
    result: dict[str, Any] = {"buckets": buckets}
    if buckets:
        result["after_key"] = buckets[-1]["key"]
    return result, None


_AGGREGATIONS = {
    "terms": _terms_agg,
    "range": _range_agg,
    "date_range": _date_range_agg,
    "missing": _missing_agg,
    "cardinality": _cardinality_agg,
    "value_count": _value_count_agg,
    "filter": _filter_agg,
    "filters": _filters_agg,
    "composite": _composite_agg,
}


# --- The whole search -------------------------------------------------------------------------------------

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
    unknown = set(body) - SEARCH_FIELDS
    if unknown:
        raise QueryError(f"request body contains unknown field [{sorted(unknown)[0]}]", "x_content_parse_exception")
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


def username_counts(queryset: QuerySet) -> list[tuple[str, int]]:
    """(username, number of keys) by username: read from the username index alone."""
    return list(queryset.values_list("username").annotate(n=Count("pk")).order_by("username"))


def counts_per_username(queryset: QuerySet, clauses: Mapping[str, Any]) -> list[dict[str, Any]]:
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


# --- Reads at scale: cached counts and deep pages ---------------------------------------------------------

GENERATION_KEY = "apikeys:generation"
COUNT_CACHE_SECONDS = 30


def generation() -> int:
    """A number every write to keys changes (services bump it), so cached reads never outlive a change."""
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        value = cache.get(GENERATION_KEY, 1)
    return value


def bump_generation() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.add(GENERATION_KEY, 1, timeout=None)


# Counting fewer rows than this is cheap: such answers are always computed afresh.
CACHE_FROM_ROWS = 1_000


def cached_count(parts: Any, compute: Callable[[], Any], rows: Callable[[Any], int] = lambda value: value) -> Any:
    """`compute()`, remembered until the next write through the services (or 30 s, for keys that expire
    meanwhile) when it counted many rows; small answers are recomputed every time."""
    digest = hashlib.sha256(json.dumps([generation(), parts], sort_keys=True, default=str).encode()).hexdigest()
    key = f"apikeys:count:{digest}"
    value = cache.get(key)
    if value is None:
        value = compute()
        if rows(value) >= CACHE_FROM_ROWS:
            cache.set(key, value, timeout=COUNT_CACHE_SECONDS)
    return value


def _reversed(ordering: list[str]) -> list[str]:
    return [field[1:] if field.startswith("-") else f"-{field}" for field in ordering]


def page_ids(queryset: QuerySet, ordering: list[str], offset: int, limit: int, total: int) -> list[str]:
    """The ids of one page. Only ids are read (an index can answer), and pages past the middle are walked
    from the end with the order reversed, so the last page costs what the first does. The reversal mirrors
    NULL placement too (SQLite and PostgreSQL both flip it with the direction)."""
    if offset >= total:
        return []
    if offset > total // 2:
        end = min(offset + limit, total)
        from_end = total - end
        rows = list(
            queryset.order_by(*_reversed(ordering)).values_list("id", flat=True)[from_end : from_end + end - offset]
        )
        return rows[::-1]
    return list(queryset.order_by(*ordering).values_list("id", flat=True)[offset : offset + limit])
