"""Rolling a key (our extension, `POST /_security/api_key/{id}/_roll`) through the official client: a successor
at once, the old key kept for the grace period asked for, what the successor copies, who may roll, what is
refused with nothing written, and the audit event."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db.models import F
from elasticsearch import (
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
    NotFoundError,
)

from apikeys.domain.durations import epoch_millis, now_ms
from apikeys.models import ApiKey, AuditEvent
from tests.conftest import es_as, make_role, make_user

JSON = {"content-type": "application/json", "accept": "application/json"}


def roll(es: Elasticsearch, key_id: str, body: dict | None = None) -> dict:
    return es.perform_request("POST", f"/_security/api_key/{key_id}/_roll", headers=JSON, body=body).body


def works(encoded: str, es_url: str) -> bool:
    try:
        Elasticsearch(es_url, api_key=encoded).security.authenticate()
    except AuthenticationException:
        return False
    return True


def key_json(es: Elasticsearch, key_id: str, **params) -> dict:
    return es.security.get_api_key(id=key_id, owner=True, **params)["api_keys"][0]


def roll_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="roll"))


def test_a_roll_answers_a_working_successor_and_keeps_the_old_key_for_24_hours(alice_es, es_url):
    old = alice_es.security.create_api_key(name="nightly-backup", metadata={"team": "ops"})
    before = epoch_millis(now_ms())

    new = roll(alice_es, old["id"])

    assert set(new) == {"id", "name", "api_key", "encoded", "rolled_from"}  # the old key never expired: nor does this
    assert new["name"] == "nightly-backup" and new["rolled_from"] == old["id"] and new["id"] != old["id"]
    assert works(new["encoded"], es_url) and works(old["encoded"], es_url)
    old_json = key_json(alice_es, old["id"])
    assert old_json["rolled_to"] == new["id"] and "rolled_from" not in old_json
    day = 24 * 3600 * 1000
    assert before + day <= old_json["expiration"] <= epoch_millis(now_ms()) + day
    assert key_json(alice_es, new["id"])["rolled_from"] == old["id"]


@pytest.mark.parametrize(
    "grace, seconds", [("0s", 0), ("1h", 3600), ("24h", 86400), ("7d", 7 * 86400), ("30d", 30 * 86400)]
)
def test_each_grace_period_sets_when_the_old_key_stops(alice_es, es_url, grace, seconds):
    old = alice_es.security.create_api_key(name="svc")
    before = epoch_millis(now_ms())

    roll(alice_es, old["id"], {"grace_period": grace})

    expiration = key_json(alice_es, old["id"])["expiration"]
    assert before + seconds * 1000 <= expiration <= epoch_millis(now_ms()) + seconds * 1000
    assert works(old["encoded"], es_url) is (seconds > 0)


def test_the_old_key_works_until_its_grace_ends_and_is_refused_after(alice_es, es_url):
    old = alice_es.security.create_api_key(name="short-grace")
    new = roll(alice_es, old["id"], {"grace_period": "2s"})
    ends = key_json(alice_es, old["id"])["expiration"]

    assert works(old["encoded"], es_url)
    deadline = time.monotonic() + 10
    while works(old["encoded"], es_url):  # what a user waits for: the moment the old key stops
        assert time.monotonic() < deadline, "the old key still works long after its grace period"
    assert epoch_millis(now_ms()) >= ends
    assert works(new["encoded"], es_url)


def test_a_key_that_expires_before_the_grace_ends_keeps_its_own_expiration(alice_es):
    old = alice_es.security.create_api_key(name="soon", expiration="2h")
    own = key_json(alice_es, old["id"])["expiration"]

    roll(alice_es, old["id"], {"grace_period": "7d"})

    assert key_json(alice_es, old["id"])["expiration"] == own


def test_the_successor_lives_as_long_as_the_old_key_did_counted_from_now(alice_es):
    old = alice_es.security.create_api_key(name="monthly", expiration="30d")
    twenty_days = timedelta(days=20)  # made 20 days ago: 10 of its 30 days are left
    ApiKey.objects.filter(pk=old["id"]).update(
        creation=F("creation") - twenty_days, expiration=F("expiration") - twenty_days
    )
    before = epoch_millis(now_ms())

    new = roll(alice_es, old["id"])

    thirty_days = 30 * 86400 * 1000
    assert before + thirty_days <= new["expiration"] <= epoch_millis(now_ms()) + thirty_days
    assert key_json(alice_es, new["id"])["expiration"] == new["expiration"]


def test_the_successor_copies_the_key_and_snapshots_the_owners_roles_now(alice, alice_es):
    descriptors = {"reader": {"indices": [{"names": ["books"], "privileges": ["read"]}]}}
    old = alice_es.security.create_api_key(name="copy-me", role_descriptors=descriptors, metadata={"env": "prod"})
    writer = make_role("writer", {"cluster": ["monitor"], "indices": [{"names": ["logs-*"], "privileges": ["write"]}]})
    alice.role_names = [*alice.role_names, writer.name]
    alice.save(update_fields=["role_names"])

    new = roll(alice_es, old["id"])

    before, after = (key_json(alice_es, i, with_limited_by=True) for i in (old["id"], new["id"]))
    for field in ("name", "type", "role_descriptors", "metadata", "username", "realm"):
        assert after[field] == before[field], field
    assert "writer" not in before["limited_by"][0]
    assert set(after["limited_by"][0]) == {"own_keys", "writer"}
    assert after["creation"] >= before["creation"] and not after["invalidated"]


def test_a_cross_cluster_key_rolls_into_a_cross_cluster_key(es_url, db):
    make_user("sec", make_role("security_admin", {"cluster": ["manage_security"]}))
    security_es = es_as(es_url, "sec")
    access = {"search": [{"names": ["logs*"]}]}
    old = security_es.security.create_cross_cluster_api_key(name="remote", access=access)

    new = roll(security_es, old["id"], {"grace_period": "1h"})

    rolled = key_json(security_es, new["id"], with_limited_by=True)
    assert rolled["type"] == "cross_cluster" and rolled["access"] == key_json(security_es, old["id"])["access"]
    assert "limited_by" not in rolled and rolled["rolled_from"] == old["id"]


def test_someone_elses_key_is_not_found_and_not_rolled(alice_es, es_url, bob):
    bobs = es_as(es_url, "bob").security.create_api_key(name="bobs")

    with pytest.raises(NotFoundError, match=f"no API key owned by requesting user found for ID \\[{bobs['id']}\\]"):
        roll(alice_es, bobs["id"])
    with pytest.raises(NotFoundError):
        roll(alice_es, "no-such-key")
    assert not roll_events() and ApiKey.objects.get(pk=bobs["id"]).rolled_to is None


def test_an_api_key_cannot_roll_keys(alice_es, es_url):
    old = alice_es.security.create_api_key(name="self")
    as_key = Elasticsearch(es_url, api_key=old["encoded"])

    with pytest.raises(BadRequestError, match="only the owner user can roll an API key"):
        roll(as_key, old["id"])
    assert ApiKey.objects.count() == 1


def test_a_user_who_may_not_manage_keys_is_denied_the_roll_action(alice_es, es_url, charlie):
    old = alice_es.security.create_api_key(name="mine")

    with pytest.raises(AuthorizationException, match="cluster:admin/xpack/security/api_key/roll"):
        roll(es_as(es_url, "charlie"), old["id"])
    assert ApiKey.objects.count() == 1


@pytest.mark.parametrize(
    "spoil, words",
    [
        (
            lambda key: key.__class__.objects.filter(pk=key.pk).update(invalidated=True, invalidation=now_ms()),
            "cannot roll invalidated API key",
        ),
        (
            lambda key: key.__class__.objects.filter(pk=key.pk).update(expiration=now_ms() - timedelta(seconds=1)),
            "cannot roll expired API key",
        ),
    ],
    ids=["invalidated", "expired"],
)
def test_an_invalidated_or_expired_key_cannot_be_rolled(alice_es, spoil, words):
    old = alice_es.security.create_api_key(name="gone")
    spoil(ApiKey.objects.get(pk=old["id"]))

    with pytest.raises(BadRequestError, match=words):
        roll(alice_es, old["id"])
    assert ApiKey.objects.count() == 1 and not roll_events()


def test_rolling_an_already_rolled_key_again_is_refused_naming_its_successor(alice_es):
    old = alice_es.security.create_api_key(name="once")
    new = roll(alice_es, old["id"])

    with pytest.raises(BadRequestError) as refused:
        roll(alice_es, old["id"])

    assert refused.value.body["error"]["reason"] == (
        f"API key [{old['id']}] has already been rolled: its successor is [{new['id']}]"
    )
    assert ApiKey.objects.count() == 2 and len(roll_events()) == 1
    assert roll(alice_es, new["id"])["rolled_from"] == new["id"]  # the successor itself may be rolled on


@pytest.mark.parametrize(
    "body, words",
    [
        ({"grace_period": "-1h"}, "negative durations are not supported"),
        ({"grace_period": "31d"}, r"\[grace_period\] \[31d\] is longer than the maximum of \[30d\]"),
        ({"grace_period": "721h"}, "is longer than the maximum of"),
        ({"grace_period": "soon"}, r"failed to parse setting \[grace_period\] with value \[soon\]"),
        ({"grace_period": 3600}, "a time value must be a string"),
        ({"grace_period": "1h", "expiration": "1d"}, r"\[roll_api_key\] unknown field \[expiration\]"),
    ],
)
def test_a_bad_grace_period_is_refused_and_nothing_is_written(alice_es, body, words):
    old = alice_es.security.create_api_key(name="keep")
    before = ApiKey.objects.get(pk=old["id"])

    with pytest.raises(BadRequestError, match=words):
        roll(alice_es, old["id"], body)

    after = ApiKey.objects.get(pk=old["id"])
    assert ApiKey.objects.count() == 1 and not roll_events()
    assert (after.expiration, after.rolled_to) == (before.expiration, None)


def test_a_roll_is_audited_once_naming_both_keys(alice_es):
    old = alice_es.security.create_api_key(name="audited")
    new = roll(alice_es, old["id"], {"grace_period": "1h"})

    [event] = roll_events()
    assert (event.actor, event.key_id, event.target) == ("alice", old["id"], "audited")
    assert event.details["rolled_to"] == new["id"] and event.details["grace_period"] == "1h"
    assert not AuditEvent.objects.filter(action="create", key_id=new["id"]).exists()


def test_rolled_keys_can_be_found_with_the_query_api(alice_es):
    old = alice_es.security.create_api_key(name="a")
    alice_es.security.create_api_key(name="b")
    new = roll(alice_es, old["id"])

    found = alice_es.security.query_api_keys(query={"exists": {"field": "rolled_to"}})["api_keys"]
    assert [k["id"] for k in found] == [old["id"]]
    found = alice_es.security.query_api_keys(query={"term": {"rolled_from": old["id"]}})["api_keys"]
    assert [k["id"] for k in found] == [new["id"]]


def test_a_roll_without_a_body_or_with_null_uses_the_default_grace(alice_es):
    old = alice_es.security.create_api_key(name="nobody")
    roll(alice_es, old["id"], {"grace_period": None})
    assert ApiKey.objects.get(pk=old["id"]).expiration >= now_ms() + timedelta(hours=23, minutes=59)


def test_the_successor_of_a_key_without_expiry_gets_the_maximum_lifetime_when_there_is_one(alice_es, settings):
    old = alice_es.security.create_api_key(name="forever")
    settings.APIKEYS_MAX_EXPIRATION = "90d"
    before = now_ms()

    new = roll(alice_es, old["id"])

    assert before + timedelta(days=90) <= ApiKey.objects.get(pk=new["id"]).expiration <= now_ms() + timedelta(days=90)


def test_the_successor_of_a_long_lived_key_is_held_to_the_maximum_lifetime(alice_es, settings):
    old = alice_es.security.create_api_key(name="yearly", expiration="365d")
    settings.APIKEYS_MAX_EXPIRATION = "30d"
    settings.APIKEYS_DEFAULT_EXPIRATION = "7d"

    new = roll(alice_es, old["id"])

    assert ApiKey.objects.get(pk=new["id"]).expiration <= now_ms() + timedelta(days=30)
    assert ApiKey.objects.get(pk=new["id"]).expiration > now_ms() + timedelta(days=29)


def test_the_successor_of_a_key_without_expiry_gets_the_default_lifetime(alice_es, settings):
    old = alice_es.security.create_api_key(name="forever")
    settings.APIKEYS_DEFAULT_EXPIRATION = "14d"

    new = roll(alice_es, old["id"])

    lifetime = ApiKey.objects.get(pk=new["id"]).expiration - now_ms()
    assert timedelta(days=13, hours=23) < lifetime <= timedelta(days=14)
