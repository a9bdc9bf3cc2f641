"""The verification hot path: a warm request writes nothing, runs no slow hash and asks the shared cache
nothing; last_used once a minute."""

import time
from contextlib import ExitStack
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys.domain import keys
from apikeys.infra.caching import LOCAL_DELETES as LOCAL_CACHE_DELETES
from apikeys.infra.caching import forget_keys as evict_from_cache
from apikeys.infra.caching import local as local_cache
from apikeys.models import ApiKey
from tests.conftest import apikey_header, new_key

AUTHENTICATE = "/_security/_authenticate"
CACHE_METHODS = ("get", "get_many", "set", "set_many", "add", "delete", "delete_many", "incr", "touch", "has_key")


@pytest.fixture(autouse=True)
def _no_local_memory():
    local_cache.clear()
    yield
    local_cache.clear()


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]


def a_minute_passes(key_id: str) -> None:
    cache.delete(f"apikeys:used:{key_id}")
    local_cache.delete(f"apikeys:used:{key_id}")


def test_a_warm_request_does_no_write_and_no_slow_hash(api, alice, settings):
    settings.APIKEYS_HASH_ALGORITHM = "argon2id"
    created = new_key(alice)
    assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 200
    with (
        mock.patch.object(keys, "verify_secret", wraps=keys.verify_secret) as verify,
        CaptureQueriesContext(connection) as queries,
    ):
        for _ in range(3):
            assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 200
    assert verify.call_count == 0
    assert writes(queries) == []


def test_a_cold_request_verifies_a_slow_hash_once(api, alice, settings):
    settings.APIKEYS_HASH_ALGORITHM = "argon2id"
    created = new_key(alice)
    with mock.patch.object(keys, "verify_secret", wraps=keys.verify_secret) as verify:
        api("GET", AUTHENTICATE, apikey_header(created.encoded))
        api("GET", AUTHENTICATE, apikey_header(created.encoded))
    assert verify.call_count == 1


def test_last_used_is_recorded_at_most_once_a_minute(api, alice):
    created = new_key(alice)
    assert ApiKey.objects.get().last_used is None
    api("GET", AUTHENTICATE, apikey_header(created.encoded))
    first = ApiKey.objects.get().last_used
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        api("GET", AUTHENTICATE, apikey_header(created.encoded))
    assert writes(queries) == [] and ApiKey.objects.get().last_used == first
    a_minute_passes(created.key.id)
    api("GET", AUTHENTICATE, apikey_header(created.encoded))
    assert ApiKey.objects.get().last_used > first


def test_last_used_appears_in_the_api(api, alice):
    created = new_key(alice)
    api("GET", AUTHENTICATE, apikey_header(created.encoded))
    answer = api("GET", "/_security/api_key", apikey_header(created.encoded), id=created.key.id).json()
    assert isinstance(answer["api_keys"][0]["last_used"], int)


def test_failed_authentication_records_no_use(api, alice):
    created = new_key(alice)
    wrong = keys.encode(created.key.id, keys.generate_secret())
    api("GET", AUTHENTICATE, apikey_header(wrong))
    assert ApiKey.objects.get().last_used is None


def test_a_warm_request_asks_the_shared_cache_nothing(api, alice):
    created = new_key(alice)
    assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 200
    with ExitStack() as stack:
        spies = {n: stack.enter_context(mock.patch.object(cache, n, wraps=getattr(cache, n))) for n in CACHE_METHODS}
        for _ in range(3):
            assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 200
    assert [name for name, spy in spies.items() if spy.called] == []


def test_another_process_finds_the_verified_key_in_the_shared_cache(api, alice, settings):
    settings.APIKEYS_HASH_ALGORITHM = "argon2id"
    created = new_key(alice)
    api("GET", AUTHENTICATE, apikey_header(created.encoded))
    local_cache.clear()  # as a process that has not seen the key yet
    with mock.patch.object(keys, "verify_secret", wraps=keys.verify_secret) as verify:
        assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 200
    assert verify.call_count == 0


def test_a_fast_hash_is_checked_every_time_and_never_asked_of_the_shared_cache(api, alice):
    created = new_key(alice)  # SSHA256, the default: microseconds, less than a trip to Redis
    with (
        mock.patch.object(keys, "verify_secret", wraps=keys.verify_secret) as verify,
        mock.patch.object(cache, "get", wraps=cache.get) as shared_get,
    ):
        for _ in range(3):
            assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 200
    assert verify.call_count == 3
    assert not [c for c in shared_get.call_args_list if str(c.args[0]).startswith("apikeys:verified:")]


@pytest.fixture
def marks_on_the_clock(settings):
    """A cache whose entries lapse by the test's clock (Redis keeps time on its own server)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "clock"}}


def test_last_used_is_recorded_again_once_the_interval_has_passed(api, alice, settings, clock, marks_on_the_clock):
    settings.APIKEYS_LAST_USED_INTERVAL_SECONDS = 60
    created = new_key(alice)
    api("GET", AUTHENTICATE, apikey_header(created.encoded))
    first = ApiKey.objects.get().last_used
    clock.advance(59)
    api("GET", AUTHENTICATE, apikey_header(created.encoded))
    assert ApiKey.objects.get().last_used == first
    clock.advance(1)
    api("GET", AUTHENTICATE, apikey_header(created.encoded))
    assert ApiKey.objects.get().last_used > first


def test_a_process_that_did_not_write_last_used_asks_again_when_the_mark_lapses(
    api, alice, settings, clock, marks_on_the_clock
):
    settings.APIKEYS_LAST_USED_INTERVAL_SECONDS = 60
    created = new_key(alice)
    cache.add(f"apikeys:used:{created.key.id}", time.time() + 30, timeout=30)  # another process wrote it
    api("GET", AUTHENTICATE, apikey_header(created.encoded))
    clock.advance(29)
    api("GET", AUTHENTICATE, apikey_header(created.encoded))
    assert ApiKey.objects.get().last_used is None
    clock.advance(1)
    api("GET", AUTHENTICATE, apikey_header(created.encoded))
    assert ApiKey.objects.get().last_used is not None


def test_eviction_makes_this_process_verify_the_hash_again(api, alice):
    created = new_key(alice)
    api("GET", AUTHENTICATE, apikey_header(created.encoded))
    evict_from_cache([created.key.id])
    with mock.patch.object(keys, "verify_secret", wraps=keys.verify_secret) as verify:
        assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 200
    assert verify.call_count == 1


def test_a_changed_hash_refuses_the_secret_this_process_remembers(api, alice):
    created = new_key(alice)
    assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 200
    replacement = keys.generate_secret()
    ApiKey.objects.filter(pk=created.key.id).update(hash=keys.hash_secret(replacement))  # no eviction
    assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 401
    assert api("GET", AUTHENTICATE, apikey_header(keys.encode(created.key.id, replacement))).status_code == 200


def test_forgetting_many_keys_empties_this_process_cache_at_once():
    local_cache.set("apikeys:verified:other", "x")
    evict_from_cache(["one"])
    assert local_cache.get("apikeys:verified:other") == "x"
    evict_from_cache([f"k{i}" for i in range(LOCAL_CACHE_DELETES + 1)])
    assert local_cache.get("apikeys:verified:other") is None
