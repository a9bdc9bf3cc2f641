"""The verification hot path: a warm request writes nothing and runs no slow hash; last_used once a minute."""

from unittest import mock

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys import keys
from apikeys.models import ApiKey
from tests.conftest import apikey_header, new_key

AUTHENTICATE = "/_security/_authenticate"


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]


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


def test_a_cold_request_verifies_the_hash_once(api, alice):
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
    cache.delete(f"apikeys:used:{created.key.id}")  # the minute has passed
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
