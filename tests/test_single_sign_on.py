"""Signing in with the organisation's OpenID Connect provider, end to end without a browser: the real provider
(tests/oidc) started on a free port, its login form filled in over HTTP, our callback opened with Django's test
client. Runs on SQLite and, in CI's second pass, on PostgreSQL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from apikeys.access.principals import Principal
from apikeys.models import ApiKey, AuditEvent, RoleMapping, User
from apikeys.services import create_api_key, invalidate_api_keys, update_api_key
from tests.conftest import PASSWORD, basic, make_role
from tests.faults.servers import free_port
from tests.oidc.harness import running_provider, sign_in_over_http

CALLBACK = "http://testserver/accounts/oidc/callback/"
SIGNED_OUT = "http://testserver/accounts/login/"


@pytest.fixture(scope="module")
def provider():
    with running_provider([CALLBACK], post_logout_redirect_uris=[SIGNED_OUT], slow_seconds=3) as started:
        yield started


@pytest.fixture
def sso(provider, settings, own_keys_role):
    for name, value in provider.settings().items():
        setattr(settings, name, value)
    settings.APIKEYS_OIDC_SCOPES = "openid email profile groups"
    settings.APIKEYS_OIDC_TIMEOUT_SECONDS = 1
    make_role("key_admin", {"cluster": ["manage_api_key"]})
    RoleMapping.objects.create(name="staff", roles=["own_keys"], rules={"field": {"groups": "staff"}})
    RoleMapping.objects.create(name="admins", roles=["key_admin"], rules={"field": {"groups": "key-admins"}})
    yield provider
    provider.mode("normal")
    provider.set_groups("alice", "staff", "key-admins")


def sign_in(client, provider, login: str):
    """Press the button, sign in at the provider's page, come back: our callback's answer."""
    start = client.get("/accounts/oidc/?next=/audit/")
    assert start.status_code == 302, start.content
    callback = urlsplit(sign_in_over_http(provider, start["Location"], login))
    return client.get(f"{callback.path}?{callback.query}")


def test_the_button_sends_the_browser_to_the_provider_with_pkce_state_and_nonce(client, sso):
    start = client.get("/accounts/oidc/")
    asked = parse_qs(urlsplit(start["Location"]).query)
    assert start["Location"].startswith(sso.issuer + "/auth?")
    assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"][0]
    assert asked["state"][0] and asked["nonce"][0]
    assert asked["redirect_uri"] == [CALLBACK]


def test_a_first_sign_in_makes_the_user_in_the_providers_realm_with_the_mapped_roles(client, sso):
    answer = sign_in(client, sso, "alice")
    assert (answer.status_code, answer["Location"]) == (302, "/audit/")
    alice = User.objects.get(username="alice", external_realm="oidc1")
    assert (alice.realm, alice.realm_type) == ("oidc1", "oidc")
    assert alice.role_names == ["key_admin", "own_keys"]
    assert (alice.email, alice.full_name, alice.has_usable_password()) == ("alice@idp.example", "Alice Provider", False)
    assert client.get("/api-keys/").status_code == 200
    event = AuditEvent.objects.get(action="sign_in")
    assert (event.actor, event.details["realm"], event.details["created"]) == ("alice", "oidc1", True)


def test_the_providers_alice_is_not_the_native_alice(client, sso, alice):
    sign_in(client, sso, "alice")
    assert User.objects.filter(username="alice").count() == 2
    native = User.objects.get(username="alice", external_realm="")
    assert native.realm == "default_native" and native.check_password(PASSWORD)


def test_a_key_of_a_provider_user_carries_the_realm_and_authenticate_says_it(client, sso, api):
    sign_in(client, sso, "bob")
    bob = User.objects.get(username="bob", external_realm="oidc1")
    created = create_api_key(Principal.for_user(bob), {"name": "bobs"})
    assert ApiKey.objects.get(pk=created.key.id).to_dict()["realm"] == "oidc1"
    assert ApiKey.objects.get(pk=created.key.id).to_dict()["realm_type"] == "oidc"
    who = Principal.for_user(bob).authentication()
    assert who["authentication_realm"] == {"name": "oidc1", "type": "oidc"}
    answer = api("GET", "/_security/api_key", auth=f"ApiKey {created.encoded}", owner="true")
    assert answer.json()["api_keys"][0]["realm"] == "oidc1"


def test_roles_are_worked_out_again_at_each_sign_in_and_old_keys_keep_their_limits(client, sso):
    sign_in(client, sso, "alice")
    alice = User.objects.get(username="alice", external_realm="oidc1")
    key = create_api_key(Principal.for_user(alice), {"name": "made-as-admin"})
    sso.set_groups("alice", "staff")
    sign_in(client, sso, "alice")
    alice.refresh_from_db()
    assert alice.role_names == ["own_keys"]
    assert "key_admin" in ApiKey.objects.get(pk=key.key.id).limited_by


def test_a_key_rotated_at_the_provider_is_picked_up(client, sso):
    assert sign_in(client, sso, "alice").status_code == 302
    sso.rotate()
    client.logout()
    assert sign_in(client, sso, "bob").status_code == 302
    assert User.objects.filter(username="bob", external_realm="oidc1").exists()


@pytest.mark.parametrize(
    ("mode", "words", "reason"),
    [
        ("wrong-issuer", "did not come from the identity provider configured here", "wrong_issuer"),
        ("wrong-audience", "meant for another application", "wrong_audience"),
        ("wrong-nonce", "belonged to another sign-in", "wrong_nonce"),
        ("expired", "had expired", "token_expired"),
        ("bad-signature", "not signed with its keys", "bad_signature"),
        ("slow", "did not answer in time", "provider_timeout"),
    ],
)
def test_a_token_the_console_cannot_trust_is_a_sentence_on_the_sign_in_page(client, sso, mode, words, reason):
    sso.mode(mode)
    answer = sign_in(client, sso, "alice")
    assert answer.status_code == 200
    assert words in answer.content.decode()
    assert not User.objects.filter(external_realm="oidc1").exists()
    assert AuditEvent.objects.get(action="sign_in_failure").details["reason"] == reason
    assert "_auth_user_id" not in client.session


def test_a_person_the_mappings_give_no_role_is_told_and_nothing_is_made(client, sso):
    answer = sign_in(client, sso, "zoe")
    assert answer.status_code == 200
    assert "no role mapping gives you a role" in answer.content.decode()
    assert not User.objects.filter(username="zoe").exists()
    event = AuditEvent.objects.get(action="sign_in_failure")
    assert (event.actor, event.details["reason"]) == ("zoe", "no_role")


def test_a_provider_that_does_not_answer_is_a_sentence_not_a_500(client, sso, settings):
    settings.APIKEYS_OIDC_ISSUER = f"http://127.0.0.1:{free_port()}"
    answer = client.get("/accounts/oidc/")
    assert answer.status_code == 200
    assert "could not be reached" in answer.content.decode()
    assert AuditEvent.objects.get(action="sign_in_failure").details["reason"] == "provider_unreachable"


def test_a_callback_this_browser_did_not_start_is_refused(client, sso):
    answer = client.get("/accounts/oidc/callback/?code=abc&state=forged")
    assert answer.status_code == 200
    assert "could not be matched to your browser" in answer.content.decode()


def test_without_password_sign_in_only_the_providers_button_is_offered(client, sso, settings, alice, api):
    settings.APIKEYS_PASSWORD_SIGN_IN = False
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with single sign-on" in page and 'name="password"' not in page
    refused = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert refused.status_code == 403 and "_auth_user_id" not in client.session
    assert api("GET", "/_security/_authenticate", auth=basic(alice)).status_code == 200


def test_both_ways_are_offered_by_default_and_the_button_says_the_providers_name(client, sso, settings):
    settings.APIKEYS_OIDC_NAME = "Acme SSO"
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Acme SSO" in page and 'name="password"' in page


def test_signing_out_ends_the_providers_session_too(client, sso):
    sign_in(client, sso, "alice")
    answer = client.post("/accounts/logout/")
    assert answer["Location"].startswith(sso.issuer + "/session/end")
    assert "id_token_hint=" in answer["Location"]
    assert "_auth_user_id" not in client.session


def test_the_audit_log_names_the_realm_of_a_provider_user_for_everything_they_do(client, sso):
    sign_in(client, sso, "bob")
    bob = Principal.for_user(User.objects.get(username="bob", external_realm="oidc1"))
    created = create_api_key(bob, {"name": "audited"})
    update_api_key(bob, created.key.id, {"metadata": {"team": "a"}})
    invalidate_api_keys(bob, {"ids": [created.key.id], "owner": True})
    events = AuditEvent.objects.filter(key_id=created.key.id).order_by("id")
    assert [(e.action, e.actor) for e in events] == [
        ("create", "bob (oidc1)"),
        ("update", "bob (oidc1)"),
        ("invalidate", "bob (oidc1)"),
    ]
    assert (events[0].details["owner"], events[0].details["realm"]) == ("bob", "oidc1")
