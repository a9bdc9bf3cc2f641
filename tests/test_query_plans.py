"""The planner walks an index for every sort the list offers, because SQLite is given statistics to plan with:
after migrating, after seeding, and at most once an interval after writes (`apikeys.infra.planner`)."""

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.infra import planner
from apikeys.readmodels.listing import SORTS

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL's autovacuum keeps statistics")


def statistics_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'apikeys_apikey'")
        return cursor.fetchone()[0]


def forget_statistics() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'apikeys_apikey'")


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(row[-1] for row in cursor.fetchall())


def list_page(admin, params: dict[str, str]) -> tuple[bytes, list[str]]:
    """The list page of a seeded 3,000-key estate, as the superuser sees it with `params`, and the statements
    that read its keys (the rows, or their ids first)."""
    call_command("seed_api_keys", count=3000, owners=5, seed=2, stdout=None)
    connection.close()  # SQLite reads the statistics when a connection opens
    client = Client()
    client.force_login(admin)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/api-keys/", params)
    assert page.status_code == 200
    return page.content, [q["sql"] for q in queries if q["sql"].startswith('SELECT "apikeys_apikey"."id"')]


@pytest.mark.django_db
def test_seeding_leaves_statistics_for_the_planner():
    forget_statistics()
    call_command("seed_api_keys", count=50, owners=2, seed=1, stdout=None)
    assert statistics_rows() > 0


@pytest.mark.django_db(transaction=True)
def test_a_write_refreshes_the_statistics_once_an_interval(alice, monkeypatch):
    forget_statistics()
    cache.clear()
    refreshed = []
    real = planner.refresh_statistics
    monkeypatch.setattr(planner, "refresh_statistics", lambda: (refreshed.append(1), real()))
    principal = Principal.for_user(alice)
    services.create_api_key(principal, {"name": "first"})
    assert refreshed == [1] and statistics_rows() > 0
    services.create_api_key(principal, {"name": "second"})
    assert refreshed == [1]  # the interval has not passed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sort", [f"{direction}{name}" for name in SORTS for direction in ("", "-")])
def test_each_sort_of_the_list_walks_an_index_instead_of_sorting_every_key(admin, sort):
    _, (rows,) = list_page(admin, {"sort": sort})
    assert "TEMP B-TREE FOR ORDER BY" not in plan(rows)


@pytest.mark.django_db
def test_migrate_analyzes_a_database_that_has_no_statistics_yet(alice):
    services.create_api_key(Principal.for_user(alice), {"name": "one"})  # ANALYZE records nothing of empty tables
    forget_statistics()
    call_command("migrate", verbosity=0)
    assert statistics_rows() > 0


@pytest.mark.django_db(transaction=True)
def test_the_newest_unused_keys_are_found_from_the_limit_not_by_stepping_over_every_newer_key(admin):
    content, (rows,) = list_page(admin, {"status": "unused"})
    assert content.count(b'class="row-select"') == 25
    walk = plan(rows)
    assert "creation<?" in walk and "TEMP B-TREE FOR ORDER BY" not in walk, walk


@pytest.mark.django_db(transaction=True)
def test_the_expiring_soon_page_sorts_its_ids_from_an_index_alone_then_reads_only_its_rows(admin):
    content, (ids, rows) = list_page(admin, {"status": "expiring"})  # the page's ids, then only their rows
    shown = content.count(b'class="row-select"')
    assert shown > 0
    assert "COVERING INDEX apikey_expiring" in plan(ids), plan(ids)
    assert rows.startswith('SELECT "apikeys_apikey"."id" AS "id"') and "apikeys_user" in rows
    asked = rows[rows.index(" IN (") + 5 : rows.rindex(")")].split(", ")
    assert len(asked) == shown  # no more rows read than shown
