"""Authentication of the JSON API: every failure is a 401 with an Elasticsearch error body."""

import base64
import logging

import pytest
from django.core.cache import cache
from django.db import connection

from apikeys.domain import keys
from apikeys.infra.caching import verified_key_name as auth_cache_key
from apikeys.models import ApiKey, AuditEvent
from tests.conftest import apikey_header, basic, new_key

AUTHENTICATE = "/_security/_authenticate"


def assert_401(response, reason_part: str = ""):
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("ApiKey")
    assert 'Basic realm="security"' in response["WWW-Authenticate"]
    assert response["X-Elastic-Product"] == "Elasticsearch"
    error = response.json()["error"]
    assert error["type"] == "security_exception"
    assert error["root_cause"][0]["type"] == "security_exception"
    assert reason_part in error["reason"]
    assert response.json()["status"] == 401


def test_it_authenticates_with_a_new_key(api, alice):
    created = new_key(alice, "cron")
    response = api("GET", AUTHENTICATE, apikey_header(created.encoded))
    assert response.status_code == 200
    assert response.json()["api_key"] == {"id": created.key.id, "name": "cron", "managed_by": "elasticsearch"}
    assert response.json()["authentication_type"] == "api_key"


def test_the_scheme_is_case_insensitive(api, alice):
    created = new_key(alice)
    assert api("GET", AUTHENTICATE, f"apikey {created.encoded}").status_code == 200
    assert api("GET", AUTHENTICATE, f"APIKEY {created.encoded}").status_code == 200


def test_it_refuses_a_wrong_secret(api, alice):
    created = new_key(alice)
    wrong = keys.encode(created.key.id, keys.generate_secret())
    assert_401(api("GET", AUTHENTICATE, apikey_header(wrong)), "invalid credentials")


def test_it_refuses_an_unknown_id(api, alice):
    assert_401(
        api("GET", AUTHENTICATE, apikey_header(keys.encode(keys.generate_id(), "x" * 22))), "unable to find apikey"
    )


def test_it_refuses_an_invalidated_key(api, alice):
    created = new_key(alice)
    ApiKey.objects.filter(pk=created.key.id).update(invalidated=True)
    assert_401(api("GET", AUTHENTICATE, apikey_header(created.encoded)), "has been invalidated")


def test_it_refuses_an_expired_key(api, alice, clock):
    created = new_key(alice, expiration="1s")
    assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 200
    clock.advance(1)
    assert_401(api("GET", AUTHENTICATE, apikey_header(created.encoded)), "api key is expired")


def test_it_refuses_an_invalidated_key_on_the_very_next_request_though_it_was_cached(api, alice, settings):
    settings.APIKEYS_HASH_ALGORITHM = "argon2id"  # slow hashes are the ones remembered
    created = new_key(alice)
    assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 200
    assert cache.get(auth_cache_key(created.key.id)) is not None
    response = api("DELETE", "/_security/api_key", basic(alice), {"ids": [created.key.id], "owner": True})
    assert response.json()["invalidated_api_keys"] == [created.key.id]
    # Refused though the cache still remembers the success (the commit that evicts it has not run here).
    assert cache.get(auth_cache_key(created.key.id)) is not None
    assert_401(api("GET", AUTHENTICATE, apikey_header(created.encoded)), "has been invalidated")


def test_invalidation_evicts_the_verified_key_once_committed(api, alice, django_capture_on_commit_callbacks):
    created = new_key(alice)
    api("GET", AUTHENTICATE, apikey_header(created.encoded))
    with django_capture_on_commit_callbacks(execute=True):
        api("DELETE", "/_security/api_key", basic(alice), {"ids": [created.key.id], "owner": True})
    assert cache.get(auth_cache_key(created.key.id)) is None


def test_a_cached_success_does_not_let_a_wrong_secret_in(api, alice):
    created = new_key(alice)
    assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 200
    wrong = keys.encode(created.key.id, keys.generate_secret())
    assert_401(api("GET", AUTHENTICATE, apikey_header(wrong)))


def test_it_refuses_keys_of_a_disabled_owner(api, alice):
    created = new_key(alice)
    alice.is_active = False
    alice.save()
    assert_401(api("GET", AUTHENTICATE, apikey_header(created.encoded)), "disabled")


def b64(text: bytes) -> str:
    return base64.b64encode(text).decode()


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing authentication credentials"),
        ("", "missing authentication credentials"),
        ("ApiKey", "invalid ApiKey value"),
        ("ApiKey !!!not-base64", "invalid ApiKey value"),
        (f"ApiKey {b64(b'no-colon')}", "invalid ApiKey value"),
        (f"ApiKey {b64(b':secret-only')}", "invalid ApiKey value"),
        (f"ApiKey {b64(b'id-only:')}", "invalid ApiKey value"),
        (f"ApiKey {b64(bytes([255, 58, 97]))}", "invalid ApiKey value"),
        ("Bearer abc", "token malformed or unknown"),
        ("Basic !!!", "invalid basic authentication header value"),
        (f"Basic {b64(b'alice')}", "invalid basic authentication header value"),
        (f"Basic {b64(b'alice:wrong-password')}", "unable to authenticate user [alice]"),
        (f"Basic {b64(b'nobody:whatever')}", "unable to authenticate user [nobody]"),
        ("ApiKey " + b64(b"an-id-with-a-nul-\x00:secret"), "invalid ApiKey value"),
        ("Basic " + b64(b"ali\x00ce:whatever"), "invalid basic authentication header value"),
    ],
)
def test_it_refuses_malformed_and_wrong_headers(api, alice, header, reason):
    assert_401(api("GET", AUTHENTICATE, header), reason)


def test_it_records_a_failure_on_a_path_holding_a_nul_as_the_client_sent_it(api, alice):
    assert_401(api("GET", "/_security/user/a%00b", basic(alice, "wrong")), "unable to authenticate user [alice]")
    assert AuditEvent.objects.get(action=AuditEvent.Action.AUTH_FAILURE).details["path"] == "/_security/user/a%00b"


def test_a_session_cookie_does_not_authenticate_the_api(api, client, alice):
    client.force_login(alice)
    assert_401(api("GET", AUTHENTICATE))


def test_basic_auth_remembers_a_success_but_not_after_a_password_change(api, alice):
    assert api("GET", AUTHENTICATE, basic(alice)).status_code == 200
    alice.set_password("a brand new password")
    alice.save()
    assert_401(api("GET", AUTHENTICATE, basic(alice)))
    assert api("GET", AUTHENTICATE, basic(alice, "a brand new password")).status_code == 200


def database_text() -> str:
    """Every row of every table as text: what someone who stole the database file would read."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        dump = []
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dump.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dump)


@pytest.mark.django_db(transaction=True)
def test_the_secret_appears_nowhere_in_the_database_or_the_logs(api, alice, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    response = api("POST", "/_security/api_key", basic(alice), {"name": "secret-check"})
    created = response.json()
    assert api("GET", AUTHENTICATE, apikey_header(created["encoded"])).status_code == 200
    assert api("PUT", f"/_security/api_key/{created['id']}", basic(alice), {"metadata": {"a": 1}}).status_code == 200
    for needle in (created["api_key"], created["encoded"]):
        assert needle not in database_text()
        assert needle not in caplog.text
    if connection.vendor == "sqlite":
        copy = tmp_path / "copy.sqlite3"
        import sqlite3

        target = sqlite3.connect(copy)
        connection.connection.backup(target)
        target.close()
        raw = copy.read_bytes()
        assert created["id"].encode() in raw  # the file really holds the key...
        assert created["api_key"].encode() not in raw  # ...but never its secret
        assert created["encoded"].encode() not in raw
