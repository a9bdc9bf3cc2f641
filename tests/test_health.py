"""GET /healthz (the process answers, no I/O) and GET /readyz (the database answers in time; Redis away is said
but still ready), both without credentials. (PostgreSQL really stopped and started: tests/faults/.)"""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apikeys.infra import outages
from tests.test_api_openapi import check_answer
from tests.test_outages import postgresql_refused, redis_refusing  # noqa: F401 - a fixture


@pytest.fixture
def document(client):
    return client.get("/openapi.json").json()


def cache_state() -> str:
    """How /readyz reports a shared cache that answers: `up` with Redis (CI's second pass), `local` without."""
    return "up" if settings.REDIS_URL else "local"


def test_healthz_answers_without_credentials_or_any_io(client, db, monkeypatch):
    def no_cache(*args, **kwargs):
        raise AssertionError("the cache was asked")

    monkeypatch.setattr("apikeys.infra.caching.shared_cache_state", no_cache)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert queries.captured_queries == []


def test_readyz_answers_ready_while_the_database_answers(client, db, document):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "up", "cache": cache_state()}
    check_answer(document, "/readyz", "get", response)


def test_readyz_is_still_ready_while_redis_is_away_and_says_so(redis_refusing, db):  # noqa: F811 - the fixture
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "up", "cache": "down"}


def test_readyz_answers_503_while_the_database_refuses(client, db, document, monkeypatch):
    def refused(*args, **kwargs):
        raise postgresql_refused()

    monkeypatch.setattr("django.db.backends.base.base.BaseDatabaseWrapper.cursor", refused)
    response = client.get("/readyz")
    monkeypatch.undo()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "cache": cache_state()}
    check_answer(document, "/readyz", "get", response)
    assert client.get("/readyz").status_code == 200


def test_readyz_answers_503_in_time_while_the_database_hangs_and_asks_it_once(client, db, settings, monkeypatch):
    settings.APIKEYS_READY_TIMEOUT_SECONDS = 0.05
    asked, released = [], threading.Event()

    def hanging() -> bool:
        asked.append(1)
        return released.wait(10)

    monkeypatch.setattr(outages, "_ask_database", hanging)
    assert [client.get("/readyz").status_code for _ in range(3)] == [503, 503, 503]
    assert len(asked) == 1  # the later probes waited on the question still in flight
    released.set()
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_health_checks_answer_get_only(client, db, path):
    response = client.post(path)
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json()["error"]["type"] == "method_not_allowed"
