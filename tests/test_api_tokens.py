"""OAuth2 tokens through the official client: issued, used as `Authorization: Bearer`, refreshed once, expired,
invalidated; and what the token endpoint says to bad requests (OAuth2's error shape, nothing written)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from elasticsearch import (
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
)

from apikeys.access.tokens import token_hash
from apikeys.models import AuditEvent, Token
from apikeys.services.tokens import purge_tokens
from tests.conftest import PASSWORD, es_as, make_role, make_user


@pytest.fixture
def client_es(es_url, db) -> Elasticsearch:
    """A client application holding manage_token, asking for tokens on users' behalf."""
    make_user("portal", make_role("token_client", {"cluster": ["manage_token"]}))
    return es_as(es_url, "portal")


def bearer(es_url: str, token: str) -> Elasticsearch:
    return Elasticsearch(es_url, bearer_auth=token)


def test_a_password_grant_gives_a_bearer_token_and_a_refresh_token(client_es, es_url, alice, settings):
    answer = client_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)
    assert answer["type"] == "Bearer"
    assert answer["expires_in"] == settings.APIKEYS_TOKEN_EXPIRATION_SECONDS == 20 * 60
    assert answer["authentication"]["username"] == "alice"
    assert answer["access_token"] and answer["refresh_token"]
    (stored,) = Token.objects.all()
    assert stored.access_hash == token_hash(answer["access_token"]), "only a hash is kept"
    assert answer["access_token"] not in (stored.access_hash, stored.refresh_hash)

    me = bearer(es_url, answer["access_token"]).security.authenticate()
    assert me["username"] == "alice" and me["authentication_type"] == "token"
    key = bearer(es_url, answer["access_token"]).security.create_api_key(name="from-a-token")
    assert key["name"] == "from-a-token"
    assert AuditEvent.objects.filter(action="token_create", actor="portal", target="alice").count() == 1


def test_client_credentials_give_the_caller_a_token_without_refresh(client_es, es_url):
    answer = client_es.security.get_token(grant_type="client_credentials")
    assert "refresh_token" not in answer
    assert bearer(es_url, answer["access_token"]).security.authenticate()["username"] == "portal"


def test_a_refresh_token_works_once_and_only_for_the_client_that_asked(client_es, es_url, alice, admin):
    first = client_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)
    with pytest.raises(BadRequestError) as caught:
        es_as(es_url, "admin").security.get_token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert caught.value.body == {
        "error": "invalid_grant",
        "error_description": "tokens must be refreshed by the creating client",
    }
    second = client_es.security.get_token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second["authentication"]["username"] == "alice"
    assert bearer(es_url, second["access_token"]).security.authenticate()["username"] == "alice"
    with pytest.raises(BadRequestError) as caught:
        client_es.security.get_token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert caught.value.body == {"error": "invalid_grant", "error_description": "token has already been refreshed"}
    assert Token.objects.count() == 2
    assert AuditEvent.objects.filter(action="token_refresh").count() == 1


def test_an_expired_token_is_refused_and_so_is_an_expired_refresh_token(client_es, es_url, alice):
    answer = client_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)
    token = Token.objects.get()
    token.expires -= timedelta(minutes=21)  # as if 21 minutes had passed
    token.save()
    with pytest.raises(AuthenticationException) as caught:
        bearer(es_url, answer["access_token"]).security.authenticate()
    assert caught.value.body["error"]["reason"] == "token expired"

    token.refresh_expires -= timedelta(hours=25)
    token.save()
    with pytest.raises(BadRequestError) as caught:
        client_es.security.get_token(grant_type="refresh_token", refresh_token=answer["refresh_token"])
    assert caught.value.body["error"] == "invalid_grant"
    assert Token.objects.count() == 1


def test_invalidating_a_token_ends_it_and_its_refresh_token(client_es, es_url, alice):
    answer = client_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)
    assert client_es.security.invalidate_token(token=answer["access_token"]).body == {
        "invalidated_tokens": 1,
        "previously_invalidated_tokens": 0,
        "error_count": 0,
    }
    with pytest.raises(AuthenticationException):
        bearer(es_url, answer["access_token"]).security.authenticate()
    with pytest.raises(BadRequestError) as caught:
        client_es.security.get_token(grant_type="refresh_token", refresh_token=answer["refresh_token"])
    assert caught.value.body["error_description"] == "token has been invalidated"
    again = client_es.security.invalidate_token(refresh_token=answer["refresh_token"])
    assert again["invalidated_tokens"] == 0 and again["previously_invalidated_tokens"] == 1


def test_invalidating_a_users_tokens_counts_access_and_refresh_tokens(client_es, alice, bob):
    for _ in range(2):
        client_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)
    client_es.security.get_token(grant_type="password", username="bob", password=PASSWORD)
    answer = client_es.security.invalidate_token(username="alice")
    assert answer["invalidated_tokens"] == 4
    assert list(Token.objects.filter(invalidated=False).values_list("user__username", flat=True)) == ["bob"]
    assert AuditEvent.objects.filter(action="token_invalidate", target="alice").count() == 1
    assert client_es.security.invalidate_token(realm_name="default_native")["invalidated_tokens"] == 2


@pytest.mark.parametrize(
    ("body", "error", "description"),
    [
        ({}, "invalid_request", "Validation Failed: 1: grant_type is missing;"),
        ({"grant_type": "password"}, "invalid_request", "1: username is missing;2: password is missing;"),
        ({"grant_type": "password", "username": "alice"}, "invalid_request", "password is missing"),
        ({"grant_type": "refresh_token"}, "invalid_request", "refresh_token is missing"),
        (
            {"grant_type": "client_credentials", "username": "alice"},
            "invalid_request",
            "username is not supported with the client_credentials grant_type",
        ),
        ({"grant_type": "magic"}, "unsupported_grant_type", "grant_type [magic] is not supported"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, "invalid_grant", "could not refresh"),
    ],
)
def test_bad_token_requests_answer_in_oauth2s_shape(client_es, alice, body, error, description):
    with pytest.raises(BadRequestError) as caught:
        client_es.security.get_token(body=body)
    assert caught.value.body["error"] == error
    assert description in caught.value.body["error_description"]
    assert not Token.objects.exists()


def test_malformed_json_and_unknown_fields_are_elasticsearch_errors(client_es):
    with pytest.raises(BadRequestError) as caught:
        client_es.perform_request(
            "POST", "/_security/oauth2/token", headers={"content-type": "application/json"}, body="{"
        )
    assert caught.value.body["error"]["type"] == "x_content_parse_exception"
    with pytest.raises(BadRequestError) as caught:
        client_es.security.get_token(body={"grant_type": "client_credentials", "audience": "x"})
    assert "unknown field [audience]" in caught.value.body["error"]["reason"]
    assert not Token.objects.exists()


def test_a_wrong_password_is_a_401_and_no_token(client_es, alice):
    with pytest.raises(AuthenticationException) as caught:
        client_es.security.get_token(grant_type="password", username="alice", password="wrong")
    assert "unable to authenticate user [alice]" in caught.value.body["error"]["reason"]
    assert not Token.objects.exists()


def test_tokens_need_manage_token(alice_es):
    with pytest.raises(AuthorizationException) as caught:
        alice_es.security.get_token(grant_type="client_credentials")
    assert "cluster:admin/xpack/security/token/create" in caught.value.body["error"]["reason"]
    with pytest.raises(AuthorizationException):
        alice_es.security.invalidate_token(username="alice")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "token string must be provided when not specifying a realm name or a username"),
        ({"token": "a", "refresh_token": "b"}, "only one of [token, refresh_token] may be sent per request"),
        ({"token": "a", "username": "alice"}, "must not be provided when realm name or username is specified"),
        ({"token": 5}, "[token] must be a string"),
    ],
)
def test_bad_invalidations_are_refused(client_es, alice, body, reason):
    client_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)
    with pytest.raises(BadRequestError) as caught:
        client_es.security.invalidate_token(body=body)
    assert reason in caught.value.body["error"]["reason"]
    assert not Token.objects.filter(invalidated=True).exists()


def test_an_unknown_bearer_token_is_refused_and_counted(es_url, db):
    with pytest.raises(AuthenticationException) as caught:
        bearer(es_url, "not-a-token").security.authenticate()
    assert caught.value.body["error"]["reason"] == "token malformed or unknown"
    assert 'Bearer realm="security"' in caught.value.meta.headers["www-authenticate"]
    assert AuditEvent.objects.filter(action="auth_failure").count() == 1


def test_spent_tokens_are_purged_and_live_ones_kept(client_es, alice):
    for _ in range(3):
        client_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)
    spent, refreshed, live = Token.objects.order_by("id")
    spent.expires -= timedelta(minutes=21)
    spent.refresh_expires -= timedelta(hours=25)
    spent.save()
    refreshed.expires -= timedelta(minutes=21)
    refreshed.refreshed = True
    refreshed.save()
    assert purge_tokens() == 2
    assert list(Token.objects.all()) == [live]
