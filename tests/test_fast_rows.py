"""The contracts of `fast_rows`: each shortcut past the ORM gives what the plain ORM gives on the same rows, value
and type, so a Django upgrade that changes the internals they lean on fails here, not in a request."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db.models import F, Model

from apikeys.access.authentication import KEY_FIELDS, KEY_WITH_OWNER, OWNER_FIELDS
from apikeys.infra import fast_rows
from apikeys.models import ApiKey, KeyUsage, KeyUsageDay, User
from apikeys.services.reads import KEY_ORDER, OWNED_KEYS
from tests.conftest import new_key

HOUR = datetime(2024, 5, 1, 12, tzinfo=UTC)


def assert_same_fields(fast: Model, orm: Model) -> None:
    """Every field loaded: equal, of the same type (a datetime with the same zone); the others deferred alike."""
    assert fast.get_deferred_fields() == orm.get_deferred_fields()
    assert (fast._state.db, fast._state.adding) == (orm._state.db, orm._state.adding)
    for field in type(orm)._meta.concrete_fields:
        if field.attname in orm.get_deferred_fields():
            continue
        got, expected = getattr(fast, field.attname), getattr(orm, field.attname)
        assert (got, type(got)) == (expected, type(expected)), field.name
        if isinstance(expected, datetime):
            assert got.tzinfo == expected.tzinfo, field.name


def orm_key(key_id: str) -> ApiKey:
    fields = [*KEY_FIELDS, *(f"owner__{name}" for name in OWNER_FIELDS)]
    return ApiKey.objects.select_related("owner").only(*fields).get(pk=key_id)


@pytest.fixture
def varied_keys(alice: User, bob: User) -> list[str]:
    """Keys whose rows hold every kind of value the select converts: dates and NULLs, JSON objects full and
    empty, true and false, owners with and without metadata and names."""
    alice.metadata, alice.full_name = {"team": "billing", "tags": ["a", 1, None]}, "Alice Liddell"
    alice.save()
    full = new_key(
        alice,
        "full",
        expiration="1d",
        metadata={"managed": True, "nested": {"n": 1.5}},
        role_descriptors={"r": {"cluster": ["monitor"], "indices": [{"names": ["logs-*"], "privileges": ["read"]}]}},
    )
    bare = new_key(bob, "bare")
    ApiKey.objects.filter(pk=bare.key.id).update(invalidated=True, type="cross_cluster")
    return [full.key.id, bare.key.id]


def test_a_joined_row_loads_what_select_related_loads(varied_keys):
    for key_id in varied_keys:
        found = KEY_WITH_OWNER.fetch(key_id)
        assert found is not None
        fast, orm = found.load(), orm_key(key_id)
        assert_same_fields(fast, orm)
        assert_same_fields(fast.owner, orm.owner)


def test_a_joined_row_loads_its_other_fields_when_asked(varied_keys):
    for key_id in varied_keys:
        fast, orm = KEY_WITH_OWNER.fetch(key_id).load(), ApiKey.objects.select_related("owner").get(pk=key_id)
        for instance, complete in [(fast, orm), (fast.owner, orm.owner)]:
            for name in instance.get_deferred_fields():
                assert getattr(instance, name) == getattr(complete, name), name


def test_a_joined_rows_raw_columns_are_what_the_orm_stores(varied_keys):
    for key_id in varied_keys:
        found, orm = KEY_WITH_OWNER.fetch(key_id), orm_key(key_id)
        assert found.column("hash") == orm.hash and found.column("type") == orm.type
        assert bool(found.column("invalidated")) is orm.invalidated  # 0/1 from SQLite, a boolean from PostgreSQL


def test_a_joined_select_finds_nothing_for_an_unknown_id(db):
    assert KEY_WITH_OWNER.fetch("no-such-key") is None


def typed(rows: Iterable[Sequence[Any]]) -> list[tuple[tuple[Any, type], ...]]:
    """The rows in order, each value with its type: 1 and True, or a moment and its text, are not the same."""
    return [tuple((value, type(value)) for value in row) for row in sorted(rows)]


def stored(model: type[Model], *fields: str) -> list[tuple[tuple[Any, type], ...]]:
    return typed(model.objects.values_list(*fields))


def test_adding_counts_leaves_the_rows_the_orm_would(db):
    """The same additions, to the same starting rows, once by the upsert and once by the ORM, one row at a time."""
    later = HOUR + timedelta(hours=1)
    additions = [("k1", HOUR, "success", 3), ("k1", later, "success", 1), ("k2", HOUR, "expired", 2**31 - 5)]
    KeyUsage.objects.create(key_id="k1", hour=HOUR, outcome="success", count=2)
    fast_rows.add_counts(KeyUsage, ["key_id", "hour", "outcome"], additions)
    fast = stored(KeyUsage, "key_id", "hour", "outcome", "count")

    KeyUsage.objects.all().delete()
    KeyUsage.objects.create(key_id="k1", hour=HOUR, outcome="success", count=2)
    for key_id, hour, outcome, n in additions:
        row, _ = KeyUsage.objects.get_or_create(key_id=key_id, hour=hour, outcome=outcome)
        KeyUsage.objects.filter(pk=row.pk).update(count=F("count") + n)
    assert fast == stored(KeyUsage, "key_id", "hour", "outcome", "count")
    assert fast[0][1] == (HOUR, datetime), "the hour reads back as the aware moment written"


def test_adding_day_counts_adds_past_what_an_int_holds(db):
    fast_rows.add_counts(KeyUsageDay, ["key_id", "day"], [("k1", 19_844, 2**31), ("k1", 19_844, 2**31)])
    assert KeyUsageDay.objects.get().count == 2**32


def test_day_counts_are_the_rows_the_orm_reads(db):
    for key_id, day, n in [("k1", 99, 5), ("k1", 100, 2), ("k1", 101, 3), ("k2", 100, 7), ("k3", 100, 1)]:
        KeyUsageDay.objects.create(key_id=key_id, day=day, count=n)
    fast = fast_rows.day_counts(["k1", "k2", "k4"], 100)
    orm = KeyUsageDay.objects.filter(key_id__in=["k1", "k2", "k4"], day__gte=100).values_list("key_id", "day", "count")
    assert typed(fast) == typed(orm)


def test_day_counts_of_no_keys_are_none(db):
    assert fast_rows.day_counts([], 0) == []


def test_the_rows_of_an_owner_are_what_the_orm_loads_in_its_order(varied_keys, alice, bob):
    for name in ("second", "third"):
        new_key(alice, name)
    for owner in (alice, bob):
        fast = OWNED_KEYS.fetch(owner.pk)
        orm = list(ApiKey.objects.filter(owner=owner).only(*ApiKey.WIRE_FIELDS).order_by(*KEY_ORDER))
        assert [k.pk for k in fast] == [k.pk for k in orm] and fast
        for got, expected in zip(fast, orm, strict=True):
            assert_same_fields(got, expected)
            assert got.to_dict() == expected.to_dict()
    assert OWNED_KEYS.fetch(-1) == []


def same_values(got: Sequence[Sequence[Any]], expected: Sequence[Sequence[Any]]) -> None:
    """Row by row, value and type (a datetime with the same zone)."""
    assert len(got) == len(expected)
    for got_row, expected_row in zip(got, expected, strict=True):
        assert [(v, type(v)) for v in got_row] == [(v, type(v)) for v in expected_row]
        for got_value, expected_value in zip(got_row, expected_row, strict=True):
            if isinstance(expected_value, datetime):
                assert got_value.tzinfo == expected_value.tzinfo


def test_a_kept_statement_gives_the_rows_the_orm_gives_and_is_not_built_again(varied_keys):
    kept = fast_rows.KeptStatements(ApiKey)
    fields = ["id", "name", "creation", "expiration", "invalidated", "metadata", "owner__is_active"]
    built = []

    def page():
        built.append(1)
        return ApiKey.objects.filter(name__in=["full", "bare"]).order_by("-creation", "id")[0:2].values_list(*fields)

    expected = [list(row) for row in page()]
    assert len(expected) == 2
    for _ in range(2):
        db, rows = kept.rows(("page", 1), page)
        assert db == "default"
        same_values(rows, expected)
    assert len(built) == 2  # once for `expected`, once for the first ask: the second ran the kept statement
    ApiKey.objects.filter(pk=expected[0][0]).update(metadata={"changed": 1})
    assert kept.rows(("page", 1), page)[1][0][5] == {"changed": 1}  # the statement is kept, never its rows


def test_statements_are_kept_by_shape_and_only_the_newest_ones(varied_keys):
    kept = fast_rows.KeptStatements(ApiKey, size=2)
    ordered = ApiKey.objects.order_by("id")
    built = []

    def first(limit: int):
        built.append(limit)
        return ordered[:limit].values_list("id")

    for limit in (1, 2, 1, 3):  # 1, asked again, is newer than 2: 3 pushes 2 out
        assert len(kept.rows(("first", limit), lambda limit=limit: first(limit))[1]) == min(limit, 2)
    assert built == [1, 2, 3]
    for limit in (3, 1, 2):
        kept.rows(("first", limit), lambda limit=limit: first(limit))
    assert built == [1, 2, 3, 2]


def test_a_statement_without_a_shape_is_not_kept_and_one_matching_nothing_asks_nothing(varied_keys):
    kept = fast_rows.KeptStatements(ApiKey)
    built = []

    def named():
        built.append(1)
        return ApiKey.objects.filter(pk__in=["nope"]).values_list("id")

    assert kept.rows(None, named) == ("default", [])
    assert kept.rows(None, named) == ("default", [])
    assert len(built) == 2
    assert kept.rows("none", lambda: ApiKey.objects.filter(pk__in=[]).values_list("id")) == ("default", [])
