"""A slow, obviously correct evaluator of the query DSL over plain dicts: the oracle `test_query.py` checks
`apikeys.query` against.

A key is a dict with `id`, `name`, `type`, `username`, `realm_name`, `creation` (aware datetime),
`expiration` and `invalidation` (aware datetime or None), `invalidated` (bool) and `metadata` (dict). The
semantics are those of the spec's "Query DSL" section, as Elasticsearch applies them to keyword, date,
boolean and flattened fields: `metadata.<path>` holds the scalar leaf at that path as a string (`true`,
`false`, `42`, `1.5`); a null, an object or an absent key is no value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

KEYWORD_FIELDS = {"name", "type", "username", "realm_name"}
DATE_FIELDS = {"creation", "expiration", "invalidation"}
BOOLEAN_FIELDS = {"invalidated"}


# --- Values -----------------------------------------------------------------------------------------------


def leaf_text(value: Any) -> str | None:
    """A flattened field's view of a JSON value: scalars as strings, anything else as no value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def metadata_leaf(metadata: dict, path: str) -> str | None:
    node: Any = metadata
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return leaf_text(node)


def has_any_leaf(value: Any) -> bool:
    if isinstance(value, dict):
        return any(has_any_leaf(v) for v in value.values())
    return leaf_text(value) is not None


def field_value(key: dict, field: str) -> Any:
    """The value of `field` on `key`, or None when the key has none."""
    if field.startswith("metadata."):
        return metadata_leaf(key["metadata"], field.removeprefix("metadata."))
    return key[field]


_DATE_MATH = re.compile(r"now((?:[+-]\d+[wdhHms])*)(?:/([dhHms]))?")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}
_ROUNDING = {
    "d": {"hour": 0, "minute": 0, "second": 0, "microsecond": 0},
    "h": {"minute": 0, "second": 0, "microsecond": 0},
    "H": {"minute": 0, "second": 0, "microsecond": 0},
    "m": {"second": 0, "microsecond": 0},
    "s": {"microsecond": 0},
}


def parse_date(value: Any, now: datetime) -> datetime:
    """Epoch milliseconds (number or digits), ISO 8601, or date math (`now-1d`, `now-2h/d`)."""
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.lstrip("-").isdigit()):
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(value))
    math = _DATE_MATH.fullmatch(value)
    if math:
        moment = now
        for sign, amount, unit in re.findall(r"([+-])(\d+)(\w)", math.group(1)):
            moment += (1 if sign == "+" else -1) * timedelta(seconds=int(amount) * _UNIT_SECONDS[unit])
        return moment.replace(**_ROUNDING[math.group(2)]) if math.group(2) else moment
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def query_value(field: str, value: Any, now: datetime) -> Any:
    """A query's value converted to what the field holds."""
    if field in DATE_FIELDS:
        return parse_date(value, now)
    if field in BOOLEAN_FIELDS:
        return value if isinstance(value, bool) else value == "true"
    return leaf_text(value)


def wildcard_regex(pattern: str, case_insensitive: bool = False) -> re.Pattern:
    """`*` any run, `?` one character, a backslash makes the next character literal; all else literal."""
    out, chars = [], iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if case_insensitive else 0))


# --- Clauses ----------------------------------------------------------------------------------------------


def matches(query: dict | None, key: dict, now: datetime | None = None) -> bool:
    """Whether `key` satisfies `query` (None matches every key)."""
    if query is None:
        return True
    now = now or datetime.now(UTC)
    ((clause, body),) = query.items()
    return _CLAUSES[clause](body, key, now)


def _single(body: dict) -> tuple[str, Any]:
    ((field, value),) = body.items()
    return field, value


def _value_and_options(value: Any, value_key: str) -> tuple[Any, dict]:
    return (value[value_key], value) if isinstance(value, dict) else (value, {})


def _match_all(body: dict, key: dict, now: datetime) -> bool:
    return True


def _ids(body: dict, key: dict, now: datetime) -> bool:
    return key["id"] in body["values"]


def _equals(field: str, actual: Any, wanted: Any, now: datetime, case_insensitive: bool = False) -> bool:
    if actual is None:
        return False
    wanted = query_value(field, wanted, now)
    if case_insensitive:
        return actual.lower() == wanted.lower()
    return actual == wanted


def _term(body: dict, key: dict, now: datetime) -> bool:
    field, value = _single(body)
    value, options = _value_and_options(value, "value")
    return _equals(field, field_value(key, field), value, now, bool(options.get("case_insensitive")))


def _terms(body: dict, key: dict, now: datetime) -> bool:
    field, values = _single(body)
    return any(_equals(field, field_value(key, field), v, now) for v in values)


def _match(body: dict, key: dict, now: datetime) -> bool:
    field, value = _single(body)
    value, _ = _value_and_options(value, "query")
    return _equals(field, field_value(key, field), value, now)


def _prefix(body: dict, key: dict, now: datetime) -> bool:
    field, value = _single(body)
    value, options = _value_and_options(value, "value")
    actual = field_value(key, field)
    if actual is None:
        return False
    if options.get("case_insensitive"):
        return actual.lower().startswith(value.lower())
    return actual.startswith(value)


def _wildcard(body: dict, key: dict, now: datetime) -> bool:
    field, value = _single(body)
    value, options = _value_and_options(
        value, "wildcard" if isinstance(value, dict) and "wildcard" in value else "value"
    )
    actual = field_value(key, field)
    regex = wildcard_regex(value, bool(options.get("case_insensitive")))
    return actual is not None and regex.fullmatch(actual) is not None


def _range(body: dict, key: dict, now: datetime) -> bool:
    field, bounds = _single(body)
    actual = field_value(key, field)
    if actual is None:
        return False
    tests = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    return all(tests[op](actual, query_value(field, bound, now)) for op, bound in bounds.items())


def _exists(body: dict, key: dict, now: datetime) -> bool:
    field = body["field"]
    if field == "metadata":
        return has_any_leaf(key["metadata"])
    return field_value(key, field) is not None


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def minimum_should_match(spec: Any, count: int) -> int:
    """Elasticsearch's reading of `minimum_should_match` for `count` should clauses."""
    text = str(spec).strip()
    if text.endswith("%"):
        percent = int(text[:-1])
        number = count * percent // 100 if percent >= 0 else count - count * -percent // 100
    else:
        number = int(text) if int(text) >= 0 else count + int(text)
    return max(number, 0)


def _bool(body: dict, key: dict, now: datetime) -> bool:
    required = _as_list(body.get("must", [])) + _as_list(body.get("filter", []))
    if not all(matches(q, key, now) for q in required):
        return False
    if any(matches(q, key, now) for q in _as_list(body.get("must_not", []))):
        return False
    should = _as_list(body.get("should", []))
    if not should:
        return True
    minimum = minimum_should_match(body.get("minimum_should_match", 0), len(should))
    if not required:
        # Lucene: a boolean query without a required clause needs at least one optional clause to match.
        minimum = max(minimum, 1)
    return sum(matches(q, key, now) for q in should) >= minimum


def sqs_tokens(text: str) -> Iterable[tuple[str, str, bool]]:
    """(sign, term, is_prefix) for each `word`, `+word`, `-word`, `word*` or `"quoted phrase"`."""
    for sign, phrase, word in re.findall(r'([+-]?)(?:"([^"]*)"|([^\s"]+))', text):
        if phrase:
            yield sign, phrase, False
        elif word.endswith("*"):
            yield sign, word[:-1], True
        else:
            yield sign, word, False


def _simple_query_string(body: dict, key: dict, now: datetime) -> bool:
    values = [field_value(key, f) for f in body.get("fields", ["name"])]
    and_words = body.get("default_operator", "or").lower() == "and"

    def hit(term: str, is_prefix: bool) -> bool:
        return any(v is not None and (v.startswith(term) if is_prefix else v == term) for v in values)

    optional = []
    for sign, term, is_prefix in sqs_tokens(body["query"]):
        found = hit(term, is_prefix)
        if sign == "-" and found:
            return False
        if (sign == "+" or (sign == "" and and_words)) and not found:
            return False
        if sign == "" and not and_words:
            optional.append(found)
    return not optional or any(optional)


_CLAUSES = {
    "match_all": _match_all,
    "ids": _ids,
    "term": _term,
    "terms": _terms,
    "match": _match,
    "prefix": _prefix,
    "wildcard": _wildcard,
    "range": _range,
    "exists": _exists,
    "bool": _bool,
    "simple_query_string": _simple_query_string,
}


# --- Sort -------------------------------------------------------------------------------------------------


def sort_keys(keys: Iterable[dict], sort: list[tuple[str, str]]) -> list[dict]:
    """`keys` in the order of `sort` ([(field, "asc" | "desc"), ...]): missing values last, ties by id in the
    last sort field's direction."""

    def compare(a: dict, b: dict) -> int:
        for field, order in sort:
            x, y = field_value(a, field), field_value(b, field)
            if x == y:
                continue
            if x is None or y is None:
                return 1 if x is None else -1
            smaller = -1 if x < y else 1
            return smaller if order == "asc" else -smaller
        by_id = -1 if a["id"] < b["id"] else 1
        return -by_id if sort and sort[-1][1] == "desc" else by_id

    return sorted(keys, key=functools.cmp_to_key(compare))
