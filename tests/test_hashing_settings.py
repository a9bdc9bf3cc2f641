"""Both hash algorithms verify, and keys made under one keep working after the setting changes."""

import pytest

from tests.conftest import apikey_header, new_key

AUTHENTICATE = "/_security/_authenticate"


@pytest.mark.parametrize(("first", "then"), [("ssha256", "argon2id"), ("argon2id", "ssha256")])
def test_a_key_still_verifies_after_the_algorithm_changes(api, alice, settings, first, then):
    settings.APIKEYS_HASH_ALGORITHM = first
    old = new_key(alice, "old")
    assert old.key.hash.startswith("{SSHA256}" if first == "ssha256" else "$argon2id$")
    settings.APIKEYS_HASH_ALGORITHM = then
    fresh = new_key(alice, "new")
    assert fresh.key.hash.startswith("{SSHA256}" if then == "ssha256" else "$argon2id$")
    for created in (old, fresh):
        response = api("GET", AUTHENTICATE, apikey_header(created.encoded))
        assert response.status_code == 200
        assert response.json()["api_key"]["id"] == created.key.id
