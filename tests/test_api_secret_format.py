"""Recognisable secrets (our extension): new keys match the published patterns, a credential whose checksum
fails is refused before anything is read, and Elasticsearch-style secrets can still be issued and used."""

import inspect
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys.domain import keys
from apikeys.infra import caching
from apikeys.models import KeyUsage
from apikeys.records import usage
from tests.conftest import apikey_header, basic, new_key

AUTHENTICATE = "/_security/_authenticate"
FORMAT = "/_security/api_key/_format"


def one_character_changed(encoded: str) -> str:
    key_id, secret = keys.decode(encoded)
    position = len(keys.SECRET_PREFIX) + 3
    replacement = "A" if secret[position] != "A" else "B"
    return keys.encode(key_id, secret[:position] + replacement + secret[position + 1 :])


@pytest.fixture
def cache_calls(monkeypatch) -> list[str]:
    """Every call into the caching module (both tiers go through it), by name."""
    calls: list[str] = []
    for name, function in inspect.getmembers(caching, inspect.isfunction):
        if function.__module__ == caching.__name__ and not name.startswith("_"):

            def spy(*args, _name=name, _function=function, **kwargs):
                calls.append(_name)
                return _function(*args, **kwargs)

            monkeypatch.setattr(caching, name, spy)
    return calls


def test_the_format_endpoint_publishes_the_patterns_every_new_key_matches(api, alice):
    published = api("GET", FORMAT, basic(alice)).json()
    assert published["prefix"] == keys.SECRET_PREFIX
    assert published["issuing"] == "prefixed"
    for _ in range(20):
        created = api("POST", "/_security/api_key", basic(alice), {"name": "k"}).json()
        assert re.fullmatch(published["secret"], created["api_key"])
        assert re.fullmatch(published["encoded"], created["encoded"])


def test_the_format_endpoint_refuses_anonymous_callers_and_other_methods(api, alice):
    assert api("GET", FORMAT).status_code == 401
    assert api("POST", FORMAT, basic(alice)).status_code == 405


def test_a_one_character_change_is_refused_without_a_query_or_a_cache_read(api, alice, cache_calls):
    created = new_key(alice)
    changed = one_character_changed(created.encoded)
    cache_calls.clear()
    with CaptureQueriesContext(connection) as queries:
        response = api("GET", AUTHENTICATE, apikey_header(changed))
    assert response.status_code == 401
    assert response.json()["error"]["reason"] == "invalid ApiKey value"
    assert len(queries) == 0
    assert cache_calls == []


def test_a_failed_checksum_is_counted_as_malformed_in_the_keys_usage(api, alice):
    created = new_key(alice)
    api("GET", AUTHENTICATE, apikey_header(one_character_changed(created.encoded)))
    usage.flush()
    answer = api("GET", f"/_security/api_key/{created.key.id}/_usage", basic(alice), days=1).json()
    assert answer["total"]["refused"] == {"malformed": 1}


def test_malformed_counts_of_ids_no_key_has_are_not_written(api, alice):
    made_up = keys.encode(keys.generate_id(), keys.generate_secret()[:-1] + "0")
    api("GET", AUTHENTICATE, apikey_header(made_up))
    assert usage.flush() == 1
    assert not KeyUsage.objects.exists()


def test_the_right_key_with_a_wrong_but_well_formed_secret_is_still_a_wrong_secret(api, alice):
    created = new_key(alice)
    wrong = keys.encode(created.key.id, keys.generate_secret())
    assert "invalid credentials" in api("GET", AUTHENTICATE, apikey_header(wrong)).json()["error"]["reason"]


def test_elasticsearch_style_secrets_are_issued_when_asked_for_and_work(api, alice, settings):
    settings.APIKEYS_SECRET_FORMAT = "elasticsearch"
    created = api("POST", "/_security/api_key", basic(alice), {"name": "plain"}).json()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", created["api_key"])
    assert api("GET", FORMAT, basic(alice)).json()["issuing"] == "elasticsearch"
    assert api("GET", AUTHENTICATE, apikey_header(created["encoded"])).status_code == 200


def test_keys_made_before_the_format_keep_working(api, alice, settings):
    settings.APIKEYS_SECRET_FORMAT = "elasticsearch"
    old = new_key(alice)
    settings.APIKEYS_SECRET_FORMAT = "prefixed"
    assert api("GET", AUTHENTICATE, apikey_header(old.encoded)).status_code == 200
    assert old.key.secret_digest is None


def test_a_recognisable_secret_is_stored_with_its_digest_only(alice):
    created = new_key(alice)
    created.key.refresh_from_db()
    assert created.key.secret_digest == keys.digest(created.secret)
    assert created.secret not in created.key.hash
