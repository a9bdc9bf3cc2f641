"""A wildcard match that treats `%` and `_` as data, case-sensitive on every backend.

Elasticsearch's `wildcard` and `prefix` are case-sensitive on keyword fields. SQLite's LIKE is not (for
ASCII), so SQLite uses GLOB (case-sensitive, and still able to use an index for a fixed prefix);
PostgreSQL uses LIKE with every metacharacter of the value escaped.
"""

from __future__ import annotations

from django.db.models import BooleanField, Lookup


def _es_tokens(pattern: str):
    """Yield ('*' | '?' | 'lit', char) for an Elasticsearch wildcard pattern; a backslash escapes."""
    escaped = False
    for char in pattern:
        if escaped:
            yield "lit", char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "*?":
            yield char, char
        else:
            yield "lit", char
    if escaped:
        yield "lit", "\\"


def to_glob(pattern: str) -> str:
    out = []
    for kind, char in _es_tokens(pattern):
        out.append(char if kind != "lit" else (f"[{char}]" if char in "*?[" else char))
    return "".join(out)


def to_like(pattern: str) -> str:
    out = []
    for kind, char in _es_tokens(pattern):
        if kind == "*":
            out.append("%")
        elif kind == "?":
            out.append("_")
        else:
            out.append("\\" + char if char in "%_\\" else char)
    return "".join(out)


def escape_wildcard(value: str) -> str:
    """An Elasticsearch wildcard pattern that matches `value` literally."""
    return "".join("\\" + c if c in "*?\\" else c for c in value)


class Wildcard(Lookup):
    """`Wildcard(expression, "ab*c?")`: usable directly in `filter()` and `Q()`."""

    lookup_name = "es_wildcard"
    prepare_rhs = False
    output_field = BooleanField()

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} LIKE %s ESCAPE '\\'", [*lhs_params, to_like(self.rhs)]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} GLOB %s", [*lhs_params, to_glob(self.rhs)]
