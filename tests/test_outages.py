"""Outages met inside one process: the shared cache refusing connections, the database failing a request.
(`tests/faults/` breaks real servers; these pin down the answers.)"""

from __future__ import annotations

import logging
import select
import socket
import sqlite3

import psycopg
import pytest
from django.db import OperationalError, connection, connections
from django.test import Client, override_settings

from apikeys.infra import caching
from apikeys.infra.outages import is_outage
from apikeys.models import ApiKey, AuditEvent
from apikeys.readmodels.listing import KeyListing
from tests.conftest import apikey_header, basic, new_key

KEYS = "/_security/api_key"


def driver_error(cause: Exception) -> OperationalError:
    """Django's OperationalError as it wraps a driver's (`raise ... from cause`)."""
    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


def sqlite_cannot_open() -> OperationalError:
    """A real SQLite error: SQLITE_CANTOPEN, a file that cannot be opened."""
    try:
        sqlite3.connect("/nonexistent-directory/db.sqlite3").execute("SELECT 1")
    except sqlite3.OperationalError as cause:
        return driver_error(cause)
    raise AssertionError("SQLite opened a file in a directory that does not exist")


def sqlite_no_such_table() -> OperationalError:
    """A real SQLite error: SQLITE_ERROR, a statement naming a table that does not exist."""
    try:
        sqlite3.connect(":memory:").execute("SELECT * FROM apikeys_apikey")
    except sqlite3.OperationalError as cause:
        return driver_error(cause)
    raise AssertionError("an empty database has a table")


def postgresql_refused() -> OperationalError:
    """A real psycopg error: no server listening (no SQLSTATE: nothing answered)."""
    try:
        psycopg.connect(f"host=127.0.0.1 port={closed_port()} connect_timeout=2")
    except psycopg.OperationalError as cause:
        return driver_error(cause)
    raise AssertionError("a closed port accepted a connection")


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_refusing(settings):
    cache = {
        "BACKEND": "apikeys.infra.redis_cache.ResilientRedisCache",
        "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
    }
    with override_settings(CACHES={"default": cache}):
        yield
    caching.local.clear()


def test_with_redis_refusing_every_call_answers_from_the_database(redis_refusing, api, alice, client, caplog):
    caplog.set_level(logging.WARNING, logger="apikeys.infra.redis_cache")
    created = api("POST", KEYS, basic(alice), {"name": "during-outage"})
    assert created.status_code == 200
    encoded = created.json()["encoded"]
    assert api("GET", "/_security/_authenticate", apikey_header(encoded)).status_code == 200
    assert api("GET", "/_security/_authenticate", basic(alice, "wrong")).status_code == 401
    invalidated = api("DELETE", KEYS, basic(alice), {"ids": [created.json()["id"]], "owner": True})
    assert invalidated.status_code == 200 and invalidated.json()["invalidated_api_keys"] == [created.json()["id"]]
    assert api("GET", "/_security/_authenticate", apikey_header(encoded)).status_code == 401
    client.force_login(alice)
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="invalidate").count() == 1
    outage_warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(outage_warnings) == 1, "one warning per outage, not one per request"


def test_throttling_counts_in_the_process_while_redis_is_away(redis_refusing, api, settings, alice):
    settings.APIKEYS_AUTH_FAILURES_PER_CLIENT = 3
    statuses = [api("GET", "/_security/_authenticate", basic(alice, "wrong")).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


def test_an_outage_of_the_database_is_a_503_for_the_api(api, alice, monkeypatch):
    key = new_key(alice)

    def away(*args, **kwargs):
        raise postgresql_refused()

    monkeypatch.setattr("apikeys.access.authentication.KEY_WITH_OWNER.fetch", away)
    response = api("GET", "/_security/_authenticate", apikey_header(key.encoded))
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response["X-Elastic-Product"] == "Elasticsearch"
    assert response.json()["error"]["type"] == "cluster_block_exception"
    assert response.json()["status"] == 503


def test_an_outage_of_the_database_is_a_plain_page_for_the_console(alice, monkeypatch):
    client = Client()
    client.force_login(alice)

    def away(*args, **kwargs):
        raise sqlite_cannot_open()

    monkeypatch.setattr(KeyListing, "has_any_key", away)
    response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert b"Temporarily unavailable" in response.content


def test_an_outage_met_outside_a_view_is_a_503_too(alice, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(alice)

    def away(*args, **kwargs):
        raise driver_error(psycopg.errors.CannotConnectNow("the database system is starting up"))

    monkeypatch.setattr("django.contrib.sessions.backends.cached_db.SessionStore.load", away)
    response = client.get("/api-keys/")
    assert response.status_code == 503
    assert b"Temporarily unavailable" in response.content


def test_a_bug_is_still_a_500(alice, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(alice)

    def broken(*args, **kwargs):
        raise sqlite_no_such_table()

    monkeypatch.setattr(KeyListing, "has_any_key", broken)
    assert client.get("/").status_code == 500


def test_a_last_used_mark_the_database_cannot_take_is_dropped(api, alice, monkeypatch, caplog):
    key = new_key(alice)

    def full(*args, **kwargs):
        raise driver_error(sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr("apikeys.models.ApiKeyQuerySet.record_use", full)
    assert api("GET", "/_security/_authenticate", apikey_header(key.encoded)).status_code == 200
    assert "deferred write dropped" in caplog.text
    assert ApiKey.objects.get().last_used is None


@pytest.mark.parametrize(
    ("make_error", "outage"),
    [
        (sqlite_cannot_open, True),
        (sqlite_no_such_table, False),
        (postgresql_refused, True),
        (lambda: driver_error(psycopg.errors.AdminShutdown("terminating connection")), True),
        (lambda: driver_error(psycopg.errors.CannotConnectNow("the database system is starting up")), True),
        (lambda: driver_error(psycopg.errors.TooManyConnections("too many clients")), True),
        (lambda: driver_error(psycopg.errors.QueryCanceled("canceling statement due to statement timeout")), True),
        (lambda: driver_error(psycopg.errors.UndefinedTable('relation "apikeys_apikey" does not exist')), False),
        (
            lambda: OperationalError("no such table, or the server closed the connection: words alone say nothing"),
            False,
        ),
    ],
)
def test_an_outage_is_told_by_the_drivers_error_code_not_its_words(make_error, outage):
    assert is_outage(make_error()) is outage


def test_a_kept_connection_that_answers_is_kept_from_one_request_to_the_next(client, alice):
    auth = {"HTTP_AUTHORIZATION": apikey_header(new_key(alice).encoded)}
    assert client.get("/_security/_authenticate", **auth).status_code == 200
    kept = connection.connection
    assert client.get("/_security/_authenticate", **auth).status_code == 200
    assert connection.connection is kept


def test_a_connection_postgresql_has_hung_up_on_is_replaced_before_the_next_request_uses_it(
    client, alice, transactional_db
):
    if connection.vendor != "postgresql":
        pytest.skip("only a database server hangs up on a kept connection (run with DATABASE_URL=postgres://...)")
    auth = {"HTTP_AUTHORIZATION": apikey_header(new_key(alice).encoded)}
    assert client.get("/_security/_authenticate", **auth).status_code == 200
    hung_up = connection.connection
    other = connections.create_connection("default")  # as an operator's restart would, from outside the worker
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [hung_up.info.backend_pid])
    other.close()
    assert select.select([hung_up.fileno()], [], [], 10)[0], "the server said goodbye on the kept connection"

    assert client.get("/_security/_authenticate", **auth).status_code == 200  # not a 503
    assert connection.connection is not hung_up
