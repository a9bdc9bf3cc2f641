"""The fields of the query DSL: which a query may name, the column or metadata leaf each reads, and how a
value given for one is read (dates, booleans, keywords)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q
from django.db.models.lookups import Exact, IsNull

from apikeys.domain.errors import QueryError
from apikeys.infra.lookups import FlattenedLeaf, Wildcard, escape_wildcard
from apikeys.query.datemath import parse_date


@dataclass(frozen=True)
class Field:
    name: str
    column: str
    kind: str  # keyword | date | boolean | json | list
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
    # Ours: when the key last authenticated (written at most once a minute); which key a key replaced, and
    # which replaced it (`_roll`).
    "last_used": Field("last_used", "last_used", "date", nullable=True),
    "rolled_from": Field("rolled_from", "rolled_from", "keyword", nullable=True),
    "rolled_to": Field("rolled_to", "rolled_to", "keyword", nullable=True),
}
# Ours: a key's network allowlist, a list of canonical CIDRs and addresses: a `term` finds keys listing one entry
# (as written in the allowlist, whatever its spelling: `2001:DB8::/32` finds `2001:db8::/32`), `terms` any of
# several, `exists` keys that have one. Neither sorted nor aggregated on.
LIST_FIELDS = {"allowed_ips": Field("allowed_ips", "allowed_ips", "list", nullable=True)}
_METADATA_PATH = re.compile(r"metadata\.([A-Za-z0-9@$\-][A-Za-z0-9_@$\-]*(\.[A-Za-z0-9_@$\-]+)*)")


def resolve_field(name: Any, allow_bare_metadata: bool = False, allow_lists: bool = False) -> Field:
    if isinstance(name, str):
        if name in FIELDS:
            return FIELDS[name]
        if name in LIST_FIELDS:
            if allow_lists:
                return LIST_FIELDS[name]
            raise QueryError(f"Field [{name}] can only be queried with [term], [terms] or [exists]")
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


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise QueryError(f"Can't parse boolean value [{value}], expected [true] or [false]")


def keyword(value: Any) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise QueryError(f"[term] query does not support value [{value}]: expected a string, number or boolean")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_value(fld: Field, value: Any) -> Any:
    if fld.kind == "date":
        return parse_date(value)
    if fld.kind == "boolean":
        return parse_bool(value)
    return keyword(value)


def on_field(fld: Field, condition: Any) -> Q:
    """`condition` on a field; on a metadata leaf, also that the leaf is there. A missing leaf is NULL, and
    SQL's NOT of a comparison with NULL is NULL, which no filter passes: without this, `must_not` would
    drop every key that lacks the leaf instead of keeping it."""
    return Q(condition) & present(fld) if fld.kind == "json" else Q(condition)


def exact(fld: Field, value: Any) -> Q:
    if fld.kind == "json":
        return Q(Exact(fld.expression(), value))
    return Q(**{fld.column: value})


def present(fld: Field) -> Q:
    if fld.kind == "json":
        return Q(IsNull(fld.expression(), False))
    return Q(**{f"{fld.column}__isnull": False})
