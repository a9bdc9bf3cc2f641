"""Disabling and enabling users through the official client against a live server: who may (manage_security,
never on oneself), what a disabled user loses on its very next request (its password, its API keys, counted as
`owner_disabled`, even while a verification is remembered, and its tokens), and that enabling gives it all back;
the console signs a disabled user out and refuses to sign it in."""

from __future__ import annotations

import pytest
from elasticsearch import AuthenticationException, AuthorizationException, BadRequestError, Elasticsearch

from apikeys.infra import caching
from apikeys.models import AuditEvent, User
from tests.conftest import PASSWORD, basic, es_as, new_key
from tests.test_api_users import assert_denied, authenticates, refusal, signs_in

SET_ENABLED = "cluster:admin/xpack/security/user/set_enabled"
JSON = {"accept": "application/json"}


def is_active(username: str) -> bool:
    return User.objects.get(username=username).is_active


def test_a_disabled_users_password_keys_and_tokens_stop_on_the_next_request_and_come_back(
    admin_es, es_url, alice, settings
):
    settings.APIKEYS_HASH_ALGORITHM = "argon2id"  # the hashes whose verification is remembered
    key = new_key(alice, "nightly")
    token = admin_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)["access_token"]
    by_key = Elasticsearch(es_url, api_key=key.encoded)
    as_alice = [by_key, Elasticsearch(es_url, bearer_auth=token), es_as(es_url, "alice")]
    assert [authenticates(es) for es in as_alice] == [True, True, True]
    assert caching.recalls_key(key.key.id, caching.fingerprint(key.secret, key.key.hash)), "verification remembered"

    assert admin_es.security.disable_user(username="alice").body == {}

    assert [authenticates(es) for es in as_alice] == [False, False, False]
    with pytest.raises(AuthenticationException) as caught:
        by_key.security.authenticate()
    assert caught.value.body["error"]["reason"] == f"the owner of api key [{key.key.id}] is disabled"
    answer = admin_es.perform_request("GET", f"/_security/api_key/{key.key.id}/_usage", headers=JSON)
    assert answer["total"]["refused"] == {"owner_disabled": 2}
    assert admin_es.security.get_user(username="alice")["alice"]["enabled"] is False

    assert admin_es.security.enable_user(username="alice").body == {}

    assert [authenticates(es) for es in as_alice] == [True, True, True]
    changes = AuditEvent.objects.filter(action="user_change", target="alice").order_by("id")
    assert [event.details for event in changes] == [
        {"fields": ["enabled"], "enabled": False},
        {"fields": ["enabled"], "enabled": True},
    ]
    assert {event.actor for event in changes} == {"admin"}


def test_enable_and_disable_take_put_and_post(admin_es, alice):
    for method, verb, active in (("POST", "_disable", False), ("POST", "_enable", True), ("PUT", "_disable", False)):
        answer = admin_es.perform_request(
            method, f"/_security/user/alice/{verb}", headers={"accept": "application/json"}
        )
        assert answer.body == {} and is_active("alice") is active


def test_nobody_may_disable_or_enable_themselves_by_password_or_token(admin_es, es_url):
    token = admin_es.security.get_token(grant_type="password", username="admin", password=PASSWORD)["access_token"]
    for es in (admin_es, Elasticsearch(es_url, bearer_auth=token)):
        for verb in (es.security.disable_user, es.security.enable_user):
            with pytest.raises(BadRequestError) as caught:
                verb(username="admin")
            assert refusal(caught) == (
                400,
                "illegal_argument_exception",
                "users may not update the enabled status of their own account",
            )
    assert is_active("admin")


def test_an_api_key_may_disable_its_owner_and_so_itself_as_in_elasticsearch(es_url, admin):
    key = new_key(admin, "admins")
    assert Elasticsearch(es_url, api_key=key.encoded).security.disable_user(username="admin").body == {}
    assert not is_active("admin")
    assert not authenticates(Elasticsearch(es_url, api_key=key.encoded))


def test_enabling_or_disabling_needs_manage_security(alice_es, bob):
    for verb in (alice_es.security.disable_user, alice_es.security.enable_user):
        with pytest.raises(AuthorizationException) as caught:
            verb(username="bob")
        assert_denied(caught, SET_ENABLED, "user [alice]")
    assert is_active("bob")
    assert not AuditEvent.objects.filter(action="user_change").exists()


def test_only_existing_users_can_be_enabled_or_disabled(admin_es, db):
    User.objects.create(username="console-service", is_service_account=True)
    for username in ("nobody", "console-service"):
        for verb, word in ((admin_es.security.disable_user, "disabled"), (admin_es.security.enable_user, "enabled")):
            with pytest.raises(BadRequestError) as caught:
                verb(username=username)
            assert refusal(caught) == (
                400,
                "validation_exception",
                f"Validation Failed: 1: only existing users can be {word};",
            )
    assert is_active("console-service")


def test_a_disabled_user_cannot_sign_in_to_the_console(client, alice):
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_a_console_session_ends_on_the_next_request_after_its_user_is_disabled(api, client, admin, alice):
    client.force_login(alice)
    assert client.get("/api-keys/").status_code == 200
    assert api("PUT", "/_security/user/alice/_disable", basic(admin)).status_code == 200
    response = client.get("/api-keys/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_disabling_a_user_leaves_other_users_alone(admin_es, es_url, alice, bob):
    admin_es.security.disable_user(username="alice")
    assert signs_in(es_url, "bob", PASSWORD)
    assert es_as(es_url, "bob").security.authenticate()["enabled"] is True
