"""Sorting and `search_after`: the order a query's hits come in, and keyset paging through it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import BooleanField, Expression, F, Q, QuerySet

from apikeys.domain.durations import epoch_millis
from apikeys.domain.errors import QueryError, reject_unknown
from apikeys.models import ApiKey
from apikeys.query.datemath import parse_date
from apikeys.query.fields import Field, keyword, parse_bool, resolve_field

SORT_OPTIONS = {"order", "missing", "unmapped_type", "format"}
SORT_ORDERS = ("asc", "desc")


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
                reject_unknown(spec, SORT_OPTIONS, "[sort] option [{}] is not supported", QueryError)
                order = spec.get("order", "asc")
            else:
                raise QueryError(f"[sort] malformed entry [{item}]", "parsing_exception")
        else:
            raise QueryError(f"[sort] malformed entry [{item}]", "parsing_exception")
        if name == "id" or name == "_id":
            raise QueryError("Field [id] is not allowed for sorting; sort on another field (ties are broken by id)")
        if order not in SORT_ORDERS:
            raise QueryError(f"[sort] unknown order [{order}]; use [asc] or [desc]")
        keys.append(SortKey(resolve_field(name), order == "desc"))
    return keys


def sort_value(fld: Field, value: Any) -> Any:
    if value is None:
        return None
    if fld.kind == "date":
        return parse_date(value)
    if fld.kind == "boolean":
        return parse_bool(value) if not isinstance(value, int) else bool(value)
    return keyword(value)


def rows_after(names: list[str], keys: list[SortKey], values: list[Any]) -> Q:
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
        values = [sort_value(k.field, v) for k, v in zip(keys, search_after, strict=False)]
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
            queryset = queryset.filter(rows_after(after_names, after_keys, values))
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
        if k.field.kind == "date" and value is not None:
            value = epoch_millis(value)
        values.append(value)
    return [*values, key.id]
