"""The query DSL compiled to a `Q` over indexed columns (metadata through JSON lookups that work on SQLite
and PostgreSQL), never a filter in Python. Values are data: `%`, `_` and `\\` in a prefix or wildcard match
themselves."""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import combinations
from math import comb
from typing import Any

from django.db.models import Q
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, In, LessThan, LessThanOrEqual

from apikeys.domain import networks
from apikeys.domain.errors import QueryError, reject_unknown
from apikeys.infra.lookups import CaseInsensitiveWildcard, ListHolds, Wildcard, escape_wildcard
from apikeys.query.fields import Field, field_value, keyword, on_field, present, resolve_field

# Like Elasticsearch's `indices.query.bool.max_clause_count`, lower: SQLite parses no expression nested over
# 1,000 deep, and an OR of N conditions is N deep.
MAX_CLAUSE_COUNT = 512
MATCH_EVERYTHING = Q(pk__isnull=False)
BOOL_OPTIONS = {"must", "filter", "should", "must_not", "minimum_should_match", "boost", "_name"}
RANGE_OPTIONS = {"gt", "gte", "lt", "lte", "format", "time_zone", "boost", "relation"}
SQS_OPTIONS = {"query", "fields", "default_operator", "analyze_wildcard", "boost", "_name", "lenient", "flags"}


def compile_query(query: Any) -> Q:
    if query is None:
        return Q()
    if not isinstance(query, Mapping) or len(query) != 1:
        raise QueryError("[query] must be an object with exactly one query clause", "parsing_exception")
    ((clause, body),) = query.items()
    compiler = CLAUSES.get(clause)
    if compiler is None:
        raise QueryError(f"Query type [{clause}] is not currently supported in this context")
    # An empty Q matches every row when filtered on, but vanishes from an OR (`Q(x) | Q()` is `Q(x)`) and
    # negates to itself: a clause that matches everything must say so to survive should and must_not.
    compiled = compiler(body) or MATCH_EVERYTHING
    check_clause_count(clause_count(compiled))
    return compiled


def clause_count(q: Q) -> int:
    """The conditions a compiled query holds (an `IN` list counts once)."""
    return sum(clause_count(child) if isinstance(child, Q) else 1 for child in q.children)


def check_clause_count(count: int) -> None:
    if count > MAX_CLAUSE_COUNT:
        raise QueryError(
            f"Query contains too many nested clauses; maxClauseCount is set to {MAX_CLAUSE_COUNT}",
            "too_many_nested_clauses",
        )


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
        known = {*allowed, value_key, "boost", "_name"}
        reject_unknown(value, known, f"[{clause}] query does not support [{{}}]", QueryError, "parsing_exception")
        if value_key not in value:
            raise QueryError(f"[{clause}] query requires [{value_key}]", "parsing_exception")
        return value[value_key], dict(value)
    return value, {}


def _match_all(body: Any) -> Q:
    return Q()


def _ids(body: Any) -> Q:
    if not isinstance(body, Mapping) or not isinstance(body.get("values"), list):
        raise QueryError("[ids] query requires [values] to be an array", "parsing_exception")
    return Q(id__in=[str(v) for v in body["values"]])


def _term(fld: Field, value: Any, case_insensitive: bool = False) -> Q:
    if fld.kind == "list":
        return Q(ListHolds(fld.expression(), _entry(value)))
    if fld.kind == "object":
        raise QueryError(f"Field [{fld.name}] can only be queried with [exists]")
    if case_insensitive and fld.kind in ("keyword", "json"):
        return on_field(fld, CaseInsensitiveWildcard(fld.expression(), escape_wildcard(keyword(value))))
    if fld.name == "metadata.managed" and keyword(value) == "true":
        # The indexed `managed` column mirrors metadata.managed (ApiKey.save keeps them together).
        return Q(managed__in=[True])
    if fld.kind == "json":
        # Metadata is matched like Elasticsearch's flattened field: leaf values compared as keywords.
        return on_field(fld, Exact(fld.expression(), keyword(value)))
    if fld.kind == "boolean":
        # `IN (…)`, not Django's bare `"column"` / `NOT "column"`, which SQLite cannot answer from an index.
        return Q(**{f"{fld.column}__in": [field_value(fld, value)]})
    return Q(**{fld.column: field_value(fld, value)})


def _entry(value: Any) -> str:
    """An allowlist entry as stored (canonical), or as given when it is none (it then matches no key)."""
    try:
        return networks.canonical(keyword(value))
    except ValueError:
        return keyword(value)


def _term_clause(body: Any) -> Q:
    name, value = _single_field("term", body)
    value, opts = _options("term", value, "value", {"case_insensitive"})
    return _term(resolve_field(name, allow_lists=True), value, bool(opts.get("case_insensitive")))


def _terms(body: Any) -> Q:
    name, values = _single_field("terms", body)
    if not isinstance(values, list):
        raise QueryError("[terms] query requires an array of values", "parsing_exception")
    fld = resolve_field(name, allow_lists=True)
    if fld.kind == "object":
        raise QueryError(f"Field [{fld.name}] can only be queried with [exists]")
    if fld.kind == "list":
        check_clause_count(len(values))  # an OR of one lookup per value
        return any_of([_term(fld, value) for value in values])
    # One `IN (…)`, not an OR per value: SQLite parses no expression nested over 1,000 deep.
    if fld.kind == "json":
        return on_field(fld, In(fld.expression(), [keyword(value) for value in values]))
    return Q(**{f"{fld.column}__in": [field_value(fld, value) for value in values]})


def _prefix(body: Any) -> Q:
    name, value = _single_field("prefix", body)
    value, opts = _options("prefix", value, "value", {"case_insensitive", "rewrite"})
    return _pattern(resolve_field(name), escape_wildcard(keyword(value)) + "*", bool(opts.get("case_insensitive")))


def _wildcard(body: Any) -> Q:
    name, value = _single_field("wildcard", body)
    if isinstance(value, Mapping) and "wildcard" in value and "value" not in value:
        value = {**value, "value": value["wildcard"]}
        value.pop("wildcard")
    value, opts = _options("wildcard", value, "value", {"case_insensitive", "rewrite"})
    return _pattern(resolve_field(name), keyword(value), bool(opts.get("case_insensitive")))


def _pattern(fld: Field, pattern: str, case_insensitive: bool) -> Q:
    if fld.kind not in ("keyword", "json"):
        raise QueryError(f"Field [{fld.name}] of type [{fld.kind}] does not support wildcard or prefix queries")
    if case_insensitive:
        return on_field(fld, CaseInsensitiveWildcard(fld.expression(), pattern))
    return on_field(fld, Wildcard(fld.expression(), pattern))


def _match(body: Any) -> Q:
    name, value = _single_field("match", body)
    value, opts = _options("match", value, "query", {"operator", "analyzer", "lenient", "zero_terms_query"})
    return _term(resolve_field(name), value)


_TEXT_COMPARISONS = {"gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan, "lte": LessThanOrEqual}


def _range(body: Any) -> Q:
    name, bounds = _single_field("range", body)
    if not isinstance(bounds, Mapping):
        raise QueryError("[range] query malformed, expected an object of bounds", "parsing_exception")
    fld = resolve_field(name)
    if fld.kind == "object":
        raise QueryError(f"Field [{fld.name}] can only be queried with [exists]")
    reject_unknown(bounds, RANGE_OPTIONS, "[range] query does not support [{}]", QueryError, "parsing_exception")
    result = Q()
    for op in ("gt", "gte", "lt", "lte"):
        if op in bounds and bounds[op] is not None:
            value = bounds[op]
            if fld.kind == "json":
                # Flattened leaves are keywords: numbers included, they compare as strings.
                result &= on_field(fld, _TEXT_COMPARISONS[op](fld.expression(), keyword(value)))
            else:
                result &= Q(**{f"{fld.column}__{op}": field_value(fld, value)})
    return result


def _exists(body: Any) -> Q:
    if not isinstance(body, Mapping) or not isinstance(body.get("field"), str):
        raise QueryError("[exists] query requires [field]", "parsing_exception")
    fld = resolve_field(body["field"], allow_bare_metadata=True, allow_lists=True)
    if fld.kind == "object":
        return ~Q(metadata={})
    if fld.nullable:
        return present(fld)
    return Q()


def _bool(body: Any) -> Q:
    if not isinstance(body, Mapping):
        raise QueryError("[bool] query malformed", "parsing_exception")
    reject_unknown(body, BOOL_OPTIONS, "[bool] query does not support [{}]", QueryError, "parsing_exception")

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
    check_clause_count(comb(len(queries) - 1, minimum - 1) * sum(clause_count(q) for q in queries))
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
    reject_unknown(body, SQS_OPTIONS, "[simple_query_string] does not support [{}]", QueryError, "parsing_exception")
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
        any_field = any_of([on_field(fld, Wildcard(fld.expression(), pattern)) for fld in fields])
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


CLAUSES = {
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
