"""The lifetime policy (`APIKEYS_DEFAULT_EXPIRATION`, `APIKEYS_MAX_EXPIRATION`) on every way a key gets an
expiration: create, grant, bulk grant, cross-cluster create and update. A refusal names the limit and writes
nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from apikeys.domain.durations import now_ms
from apikeys.models import ApiKey
from tests.conftest import PASSWORD, basic, make_role, make_user, new_key


@pytest.fixture
def granter(db):
    return make_user("granter", make_role("granter_role", {"cluster": ["grant_api_key", "manage_security"]}))


def grant_body(api_key: dict) -> dict:
    return {"grant_type": "password", "username": "alice", "password": PASSWORD, "api_key": api_key}


def lives(key_id: str) -> timedelta | None:
    expiration = ApiKey.objects.get(pk=key_id).expiration
    return None if expiration is None else expiration - now_ms()


def about(days: int):
    return lambda span: span is not None and timedelta(days=days) - timedelta(minutes=1) < span <= timedelta(days=days)


def test_without_a_policy_a_key_may_live_for_ever(api, alice):
    answer = api("POST", "/_security/api_key", basic(alice), {"name": "forever"})
    assert answer.status_code == 200 and lives(answer.json()["id"]) is None


def test_a_create_that_names_no_expiration_gets_the_default(api, alice, settings):
    settings.APIKEYS_DEFAULT_EXPIRATION = "30d"
    answer = api("POST", "/_security/api_key", basic(alice), {"name": "defaulted"})
    assert about(30)(lives(answer.json()["id"]))
    assert "expiration" in answer.json()


def test_a_create_that_names_an_expiration_keeps_it_under_a_default(api, alice, settings):
    settings.APIKEYS_DEFAULT_EXPIRATION = "30d"
    answer = api("POST", "/_security/api_key", basic(alice), {"name": "chosen", "expiration": "2d"})
    assert about(2)(lives(answer.json()["id"]))


@pytest.mark.parametrize("expiration", ["91d", "2161h"])
def test_a_create_longer_than_the_maximum_is_refused_naming_the_limit(api, alice, settings, expiration):
    settings.APIKEYS_MAX_EXPIRATION = "90d"
    answer = api("POST", "/_security/api_key", basic(alice), {"name": "too-long", "expiration": expiration})
    assert answer.status_code == 400
    assert answer.json()["error"]["reason"] == (
        f"Validation Failed: 1: [expiration] [{expiration}] is longer than the maximum API key lifetime "
        "[90d] (APIKEYS_MAX_EXPIRATION);"
    )
    assert ApiKey.objects.count() == 0


def test_the_maximum_itself_is_allowed(api, alice, settings):
    settings.APIKEYS_MAX_EXPIRATION = "90d"
    answer = api("POST", "/_security/api_key", basic(alice), {"name": "just-so", "expiration": "2160h"})
    assert answer.status_code == 200 and about(90)(lives(answer.json()["id"]))


def test_no_expiration_under_a_maximum_without_default_is_refused(api, alice, settings):
    settings.APIKEYS_MAX_EXPIRATION = "90d"
    answer = api("POST", "/_security/api_key", basic(alice), {"name": "unbounded"})
    assert answer.status_code == 400
    assert (
        "[expiration] is required: API keys may live at most [90d] (APIKEYS_MAX_EXPIRATION)"
        in (answer.json()["error"]["reason"])
    )
    assert ApiKey.objects.count() == 0


def test_no_expiration_under_a_maximum_with_a_default_gets_the_default(api, alice, settings):
    settings.APIKEYS_MAX_EXPIRATION = "90d"
    settings.APIKEYS_DEFAULT_EXPIRATION = "7d"
    answer = api("POST", "/_security/api_key", basic(alice), {"name": "bounded"})
    assert about(7)(lives(answer.json()["id"]))


def test_grants_follow_the_policy(api, alice, granter, settings):
    settings.APIKEYS_MAX_EXPIRATION = "10d"
    settings.APIKEYS_DEFAULT_EXPIRATION = "1d"
    granted = api("POST", "/_security/api_key/grant", basic(granter), grant_body({"name": "granted"}))
    assert about(1)(lives(granted.json()["id"]))

    refused = api("POST", "/_security/api_key/grant", basic(granter), grant_body({"name": "g", "expiration": "11d"}))
    assert refused.status_code == 400 and "[10d] (APIKEYS_MAX_EXPIRATION)" in refused.json()["error"]["reason"]
    assert ApiKey.objects.count() == 1


def test_a_bulk_grant_with_one_key_too_long_writes_none(api, alice, granter, settings):
    settings.APIKEYS_MAX_EXPIRATION = "10d"
    body = grant_body({})
    del body["api_key"]
    body["api_keys"] = [{"name": "ok", "expiration": "1d"}, {"name": "too-long", "expiration": "30d"}]
    answer = api("POST", "/_security/api_key/_bulk_grant", basic(granter), body)
    assert answer.status_code == 400 and ApiKey.objects.count() == 0


def test_cross_cluster_keys_follow_the_policy(api, granter, settings):
    settings.APIKEYS_MAX_EXPIRATION = "10d"
    body = {"name": "remote", "access": {"search": [{"names": ["logs"]}]}}
    refused = api("POST", "/_security/cross_cluster/api_key", basic(granter), body)
    assert refused.status_code == 400 and "is required" in refused.json()["error"]["reason"]
    settings.APIKEYS_DEFAULT_EXPIRATION = "3d"
    created = api("POST", "/_security/cross_cluster/api_key", basic(granter), body)
    assert about(3)(lives(created.json()["id"]))


def test_an_update_may_not_extend_a_key_beyond_the_maximum(api, alice, settings):
    key = new_key(alice, "updated", expiration="1d").key
    settings.APIKEYS_MAX_EXPIRATION = "30d"

    refused = api("PUT", f"/_security/api_key/{key.id}", basic(alice), {"expiration": "31d"})
    assert refused.status_code == 400 and "[30d]" in refused.json()["error"]["reason"]
    assert ApiKey.objects.get(pk=key.id).expiration == key.expiration

    unchanged = api("PUT", f"/_security/api_key/{key.id}", basic(alice), {"metadata": {"a": 1}})
    assert unchanged.status_code == 200 and ApiKey.objects.get(pk=key.id).expiration == key.expiration
    extended = api("PUT", f"/_security/api_key/{key.id}", basic(alice), {"expiration": "30d"})
    assert extended.status_code == 200 and about(30)(lives(key.id))


@pytest.mark.parametrize(
    "default, maximum, words",
    [
        ("soon", None, "APIKEYS_DEFAULT_EXPIRATION"),
        (None, "90", "APIKEYS_MAX_EXPIRATION"),
        ("100d", "90d", "APIKEYS_DEFAULT_EXPIRATION [100d] is longer than APIKEYS_MAX_EXPIRATION [90d]"),
    ],
)
def test_a_policy_that_makes_no_sense_stops_the_server_starting(settings, default, maximum, words):
    settings.APIKEYS_DEFAULT_EXPIRATION = default
    settings.APIKEYS_MAX_EXPIRATION = maximum
    with pytest.raises(SystemCheckError, match=re.escape(words)):
        call_command("check")
