"""Shared fixtures. People: alice (owns keys), bob (her teammate, also owns keys), charlie (no roles),
reader (read_security), manager (manage_api_key), admin (superuser)."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from elasticsearch import Elasticsearch

from apikeys.access.principals import Principal
from apikeys.domain.privileges import validate_role_descriptor
from apikeys.models import ApiKey, Role, User
from apikeys.records import usage
from apikeys.services import create_api_key

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
PASSWORD = "correct horse battery"

OWN_KEYS_ROLE = {"cluster": ["manage_own_api_key"], "indices": [{"names": ["books", "logs-*"], "privileges": ["read"]}]}


@pytest.fixture(autouse=True)
def _fast_and_clean(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Usage counts are written when a test flushes them (`usage.flush()`), never because the interval came due
    # after some response mid-test: a live server's thread could then take the counts a test is about to flush.
    # A test of the interval sets its own.
    settings.APIKEYS_USAGE_FLUSH_SECONDS = 3600
    cache.clear()
    usage._pending.clear()
    yield
    cache.clear()
    usage._pending.clear()  # counts of this test's keys: never written into another test's database


def make_role(name: str, descriptor: dict[str, Any]) -> Role:
    return Role.objects.create(name=name, descriptor=validate_role_descriptor(name, descriptor))


def make_user(username: str, *roles: Role, superuser: bool = False) -> User:
    if superuser:
        user = User.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
    else:
        user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
    user.role_names = [role.name for role in roles]
    user.save(update_fields=["role_names"])
    return user


@pytest.fixture
def own_keys_role(db) -> Role:
    return make_role("own_keys", OWN_KEYS_ROLE)


@pytest.fixture
def alice(own_keys_role) -> User:
    return make_user("alice", own_keys_role)


@pytest.fixture
def bob(own_keys_role) -> User:
    return make_user("bob", own_keys_role)


@pytest.fixture
def charlie(db) -> User:
    return make_user("charlie")


@pytest.fixture
def reader(db) -> User:
    return make_user("reader", make_role("reader_role", {"cluster": ["read_security"]}))


@pytest.fixture
def manager(db) -> User:
    return make_user("manager", make_role("manager_role", {"cluster": ["manage_api_key"]}))


@pytest.fixture
def admin(db) -> User:
    return make_user("admin", superuser=True)


def basic(user: User | str, password: str = PASSWORD) -> str:
    name = user if isinstance(user, str) else user.username
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


def apikey_header(encoded: str) -> str:
    return f"ApiKey {encoded}"


def new_key(user: User, name: str = "key", **body: Any):
    """Create a key for `user` through the service (as the API would); returns CreatedKey."""
    return create_api_key(Principal.for_user(user), {"name": name, **body})


class Api:
    """Calls the JSON API with Django's test client; `auth` is a full Authorization header value."""

    def __init__(self, client: Client):
        self.client = client

    def __call__(
        self, method: str, path: str, auth: str | None = None, body: Any = None, raw: bytes | None = None, **params
    ):
        query = "&".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in params.items())
        url = f"{path}?{query}" if query else path
        headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return self.client.generic(method, url, data, content_type="application/json", **headers)


@pytest.fixture
def api(client) -> Api:
    return Api(client)


class Clock:
    """`time.time` standing still until a test moves it: the app's clock (`durations.now`) and the caches' expiry
    both read it, so a key expires and a cache mark lapses without waiting."""

    def __init__(self, start: float) -> None:
        self.moment = start

    def __call__(self) -> float:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(time.time())
    monkeypatch.setattr(time, "time", frozen)
    return frozen


def key_count() -> int:
    return ApiKey.objects.count()


def make_keys(user: User, count: int, prefix: str = "key", id_prefix: str = "k") -> None:
    """`count` keys straight into the database (names `<prefix>-0000`…, each a minute older than the last)."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    ApiKey.objects.bulk_create(
        ApiKey(
            id=f"{id_prefix}{i:019d}",
            name=f"{prefix}-{i:04d}",
            owner=user,
            username=user.username,
            hash="x",
            creation=now - timedelta(minutes=i),
        )
        for i in range(count)
    )


# --- The official client against a live server -------------------------------------------------------------


@pytest.fixture
def es_url(live_server) -> str:
    return live_server.url


def es_as(es_url: str, username: str, password: str = PASSWORD) -> Elasticsearch:
    return Elasticsearch(es_url, basic_auth=(username, password))


@pytest.fixture
def admin_es(es_url, admin) -> Elasticsearch:
    return es_as(es_url, "admin")


@pytest.fixture
def alice_es(es_url, alice) -> Elasticsearch:
    return es_as(es_url, "alice")
