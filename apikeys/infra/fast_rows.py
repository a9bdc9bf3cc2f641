"""Speed shortcuts past the ORM, all in one place. Each leans on Django internals or on SQL written by hand, and
each has a contract test (`tests/test_fast_rows.py`) comparing it with the plain ORM on the same rows, so a Django
upgrade that breaks one fails a test instead of a request.

- `JoinedSelect`: a row and the row its foreign key names, by primary key, as SQL compiled once per database and
  loaded through the ORM's own converters and `Model.from_db` (every API key's authentication).
- `RowsOf`: the rows whose foreign key names one row, in a fixed order, as SQL compiled once per database and
  loaded as `JoinedSelect` loads (the get API's `owner=true`, what scripts ask most).
- `KeptStatements`: a `values_list` queryset's statement and converters as the ORM compiled them, kept by the
  shape the caller names and run again as they are (the console's page of keys).
- `add_counts`: an upsert that adds to a stored count (the usage flush); the ORM's `bulk_create` can only
  overwrite a conflicting row, not add to it.
- `day_counts`: the daily usage rows of a page of keys (the list's sparklines).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, ForeignKey, Model, QuerySet

from apikeys.models import KeyUsageDay

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Columns(Generic[M]):
    """Some of a model's fields, in model order (as `from_db` wants them), each with the converters its raw
    value goes through (booleans, datetimes, JSON), as the ORM would apply them."""

    model: type[M]
    fields: list[Field]
    converters: list[list[Callable]]
    attnames: frozenset[str]  # `from_db` marks every other field deferred
    positions: dict[str, int]  # field name -> its place in the row

    @classmethod
    def of(cls, db: BaseDatabaseWrapper, model: type[M], names: Collection[str]) -> _Columns[M]:
        fields = [f for f in model._meta.concrete_fields if f.name in names]
        converters = [db.ops.get_db_converters(f.cached_col) + f.get_db_converters(db) for f in fields]
        return cls(
            model, fields, converters, frozenset(f.attname for f in fields), {f.name: i for i, f in enumerate(fields)}
        )

    def instance(self, db: BaseDatabaseWrapper, values: Sequence[Any]) -> M:
        converted = []
        for field, converters, value in zip(self.fields, self.converters, values, strict=True):
            for convert in converters:
                value = convert(value, field.cached_col, db)
            converted.append(value)
        return self.model.from_db(db.alias, self.attnames, converted)


@dataclass(frozen=True, slots=True)
class JoinedRow(Generic[M]):
    """A row as read, with its related row. It becomes objects only when asked (`load`), so that a caller may
    refuse it on its raw columns first: converting its JSON costs time a refusal need not spend."""

    db: BaseDatabaseWrapper
    row: tuple
    columns: _Columns[M]
    related_columns: _Columns
    relation: str

    def column(self, name: str) -> Any:
        """A field of the main row as stored, unconverted: a text as is, a boolean as 0/1 or as a boolean."""
        return self.row[self.columns.positions[name]]

    def load(self) -> M:
        """The model instance, its related instance in place, as `select_related(relation).only(...)` loads
        them: the fields not read are deferred, loaded if ever asked for."""
        split = len(self.columns.fields)
        instance = self.columns.instance(self.db, self.row[:split])
        setattr(instance, self.relation, self.related_columns.instance(self.db, self.row[split:]))
        return instance


class JoinedSelect(Generic[M]):
    """`model` rows by primary key with the row their foreign key `relation` names, reading only `fields` of the
    one and `related_fields` of the other. The SQL and the converters are found once per database: compiling the
    ORM's join and finding its converters on every request cost several times what running it does."""

    def __init__(self, model: type[M], fields: Collection[str], relation: str, related_fields: Collection[str]):
        self.model, self.fields, self.relation, self.related_fields = model, fields, relation, related_fields
        self._compiled: dict[str, tuple[str, _Columns[M], _Columns]] = {}

    def fetch(self, pk: Any) -> JoinedRow[M] | None:
        db = connections[router.db_for_read(self.model)]
        compiled = self._compiled.get(db.alias) or self._compile(db.alias)
        sql, columns, related_columns = compiled
        with db.cursor() as cursor:
            cursor.execute(sql, [pk])
            row = cursor.fetchone()
        return None if row is None else JoinedRow(db, row, columns, related_columns, self.relation)

    def _compile(self, alias: str) -> tuple[str, _Columns[M], _Columns]:
        # A connection of its own, never opened: names are quoted and converters found the same on every one.
        db = connections.create_connection(alias)
        quote = db.ops.quote_name
        relation = cast(ForeignKey, self.model._meta.get_field(self.relation))
        related = relation.related_model._meta

        def column(field: Field) -> str:
            return f"{quote(field.model._meta.db_table)}.{quote(field.column)}"

        columns = _Columns.of(db, self.model, self.fields)
        related_columns = _Columns.of(db, relation.related_model, self.related_fields)
        sql = (
            f"SELECT {', '.join(column(f) for f in columns.fields + related_columns.fields)} "
            f"FROM {quote(self.model._meta.db_table)} INNER JOIN {quote(related.db_table)} "
            f"ON ({column(relation)} = {column(relation.target_field)}) "
            f"WHERE {column(self.model._meta.pk)} = %s"
        )
        self._compiled[alias] = sql, columns, related_columns
        return self._compiled[alias]


class RowsOf(Generic[M]):
    """`model` rows whose foreign key `relation` is a given primary key, reading only `fields`, ordered by the
    `order` fields (ascending): `model.objects.filter(relation=pk).only(*fields).order_by(*order)`, with the SQL
    and the converters found once per database, as `JoinedSelect` finds them."""

    def __init__(self, model: type[M], fields: Collection[str], relation: str, order: Sequence[str]):
        self.model, self.fields, self.relation, self.order = model, fields, relation, order
        self._compiled: dict[str, tuple[str, _Columns[M]]] = {}

    def fetch(self, pk: Any) -> list[M]:
        db = connections[router.db_for_read(self.model)]
        sql, columns = self._compiled.get(db.alias) or self._compile(db.alias)
        with db.cursor() as cursor:
            cursor.execute(sql, [pk])
            rows = cursor.fetchall()
        return [columns.instance(db, row) for row in rows]

    def _compile(self, alias: str) -> tuple[str, _Columns[M]]:
        db = connections.create_connection(alias)  # never opened: only its quoting and converters are asked
        quote, meta = db.ops.quote_name, self.model._meta
        columns = _Columns.of(db, self.model, self.fields)
        sql = (
            f"SELECT {', '.join(quote(f.column) for f in columns.fields)} FROM {quote(meta.db_table)} "
            f"WHERE {quote(meta.get_field(self.relation).column)} = %s "
            f"ORDER BY {', '.join(quote(meta.get_field(name).column) + ' ASC' for name in self.order)}"
        )
        self._compiled[alias] = sql, columns
        return self._compiled[alias]


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple
    converters: list[tuple[int, list[Callable], Any]]  # (column, its converters, the expression they are given)


class KeptStatements:
    """`values_list` querysets' statements, compiled by the ORM the first time a shape is asked for and then run
    again as they are, with the ORM's own converters: building and compiling the list page's query cost it 1 ms,
    five times what running it does. The caller names the shape (`key`: everything the statement and its
    parameters depend on, so nothing read from the clock: SQLite's parameters are already text, a moment among
    them cannot be told here) and builds the queryset only for a shape not kept, or with `key` None, which keeps
    nothing. The `size` shapes used last are kept, per database."""

    def __init__(self, model: type[Model], size: int = 256):
        self.model, self.size = model, size
        self._kept: OrderedDict[Hashable, _Statement] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, key: Hashable | None, build: Callable[[], QuerySet]) -> tuple[str, list[list[Any]]]:
        """(database alias, rows as `build()` would give them), each row a list."""
        alias = router.db_for_read(self.model)
        with self._lock:
            statement = self._kept.get((alias, key)) if key is not None else None
            if statement is not None:
                self._kept.move_to_end((alias, key))
        if statement is None:
            statement = self._compile(build())
            if statement is None:
                return alias, []
            if key is not None:
                with self._lock:
                    self._kept[alias, key] = statement
                    while len(self._kept) > self.size:
                        self._kept.popitem(last=False)
        db = connections[alias]
        with db.cursor() as cursor:
            cursor.execute(statement.sql, statement.params)
            rows = [list(row) for row in cursor.fetchall()]
        for row in rows:
            for position, converters, expression in statement.converters:
                value = row[position]
                for convert in converters:
                    value = convert(value, expression, db)
                row[position] = value
        return alias, rows

    @staticmethod
    def _compile(queryset: QuerySet) -> _Statement | None:
        compiler = queryset.query.get_compiler(queryset.db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # a condition that matches nothing (`pk__in=[]`): the ORM asks no database either
            return None
        found = compiler.get_converters([column for column, _, _ in compiler.select])
        return _Statement(sql, tuple(params), [(i, list(c), e) for i, (c, e) in found.items()])


def add_counts(model: type[Model], key: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Add each row's last value to the stored `count` of the row its `key` fields name, inserting that row when
    missing (SQLite and PostgreSQL say it alike). Values are prepared as the ORM's `save` would prepare them."""
    fields = [model._meta.get_field(name) for name in [*key, "count"]]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = [quote(f.column) for f in fields]
    count = names[-1]
    statement = (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) "
        f"ON CONFLICT ({', '.join(names[:-1])}) DO UPDATE SET {count} = {table}.{count} + excluded.{count}"
    )
    prepared = [[f.get_db_prep_save(value, connection) for f, value in zip(fields, row, strict=True)] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(statement, prepared)


def day_counts(key_ids: Sequence[str], first_day: int) -> list[tuple[str, int, int]]:
    """(key id, day, count) of `KeyUsageDay` for these keys from `first_day` on: one statement for any number of
    keys, a range of the table's unique index per key. Written out, not built by the ORM: building the query cost
    more (0.4 ms for a 25-row page) than running it."""
    if not key_ids:
        return []
    quote = connection.ops.quote_name
    key_id, day, count = (quote(KeyUsageDay._meta.get_field(name).column) for name in ("key_id", "day", "count"))
    statement = (
        f"SELECT {key_id}, {day}, {count} FROM {quote(KeyUsageDay._meta.db_table)} "
        f"WHERE {key_id} IN ({', '.join(['%s'] * len(key_ids))}) AND {day} >= %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*key_ids, first_day])
        return cursor.fetchall()
