"""Granting keys for another user through the official client: with that user's access token, and several keys
at once with one lent credential (bulk grant)."""

from __future__ import annotations

import base64
import json

import pytest
from elasticsearch import AuthorizationException, BadRequestError, Elasticsearch

from apikeys.access.principals import user_roles
from apikeys.access.tokens import is_jwt
from apikeys.models import ApiKey, AuditEvent
from tests.conftest import PASSWORD, es_as, make_role, make_user


@pytest.fixture
def granter_es(es_url, db) -> Elasticsearch:
    make_user("granter", make_role("granter_role", {"cluster": ["grant_api_key", "manage_token"]}))
    return es_as(es_url, "granter")


def test_a_key_is_granted_with_the_users_access_token(granter_es, es_url, alice):
    token = granter_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)
    created = granter_es.security.grant_api_key(
        grant_type="access_token", access_token=token["access_token"], api_key={"name": "for-alice"}
    )
    me = Elasticsearch(es_url, api_key=created["encoded"]).security.authenticate()
    assert me["username"] == "alice" and me["api_key"]["name"] == "for-alice"
    assert ApiKey.objects.get().limited_by == user_roles(alice)


def test_an_invalidated_token_grants_nothing(granter_es, alice):
    token = granter_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)
    granter_es.security.invalidate_token(token=token["access_token"])
    with pytest.raises(AuthorizationException) as caught:
        granter_es.security.grant_api_key(
            grant_type="access_token", access_token=token["access_token"], api_key={"name": "for-alice"}
        )
    assert "token expired" in caught.value.body["error"]["reason"]
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"grant_type": "access_token"}, "[access_token] is required for grant_type [access_token]"),
        (
            {"grant_type": "access_token", "access_token": "t", "username": "alice"},
            "[username] is not supported for grant_type [access_token]",
        ),
        ({"grant_type": "password", "username": "alice"}, "[password] is required for grant_type [password]"),
        ({"grant_type": "magic"}, "grant_type [magic] is not supported"),
        ({}, "[grant_type] is required"),
    ],
)
def test_bad_grant_credentials_are_refused(granter_es, alice, body, reason):
    with pytest.raises(BadRequestError) as caught:
        granter_es.security.grant_api_key(body={**body, "api_key": {"name": "k"}})
    assert reason in caught.value.body["error"]["reason"]
    assert not ApiKey.objects.exists()


def test_bulk_grant_creates_every_key_for_one_user(granter_es, es_url, alice):
    answer = granter_es.security.perform_request(
        "POST",
        "/_security/api_key/_bulk_grant",
        headers={"content-type": "application/json", "accept": "application/json"},
        body={
            "grant_type": "password",
            "username": "alice",
            "password": PASSWORD,
            "api_keys": [{"name": "bulk-1", "expiration": "1d", "metadata": {"team": "a"}}, {"name": "bulk-2"}],
        },
    )
    created = answer.body["created"]
    assert [k["name"] for k in created] == ["bulk-1", "bulk-2"]
    assert "expiration" in created[0] and "expiration" not in created[1]
    for key in created:
        assert base64.b64decode(key["encoded"]).decode() == f"{key['id']}:{key['api_key']}"
    me = Elasticsearch(es_url, api_key=created[0]["encoded"]).security.authenticate()
    assert me["username"] == "alice" and me["api_key"]["name"] == "bulk-1"
    assert set(ApiKey.objects.values_list("username", flat=True)) == {"alice"}
    assert AuditEvent.objects.filter(action="grant", actor="granter").count() == 2


@pytest.mark.parametrize(
    ("api_keys", "reason"),
    [
        (None, "Validation Failed: 1: [api_keys] must not be empty;"),
        ([], "Validation Failed: 1: [api_keys] must not be empty;"),
        ([{"name": "ok"}, {"name": "_bad"}], "may not begin with an underscore"),
        ([{"name": "ok"}, {"name": "x", "colour": "red"}], "unknown field [colour]"),
        ({"name": "not-a-list"}, "must be an array"),
    ],
)
def test_a_bad_bulk_grant_writes_no_key(granter_es, alice, api_keys, reason):
    body = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    if api_keys is not None:
        body["api_keys"] = api_keys
    with pytest.raises(BadRequestError) as caught:
        granter_es.perform_request(
            "POST",
            "/_security/api_key/_bulk_grant",
            headers={"content-type": "application/json", "accept": "application/json"},
            body=body,
        )
    assert reason in caught.value.body["error"]["reason"]
    assert not ApiKey.objects.exists()


def test_bulk_grant_needs_grant_api_key(alice_es, bob):
    with pytest.raises(AuthorizationException) as caught:
        alice_es.perform_request(
            "POST",
            "/_security/api_key/_bulk_grant",
            headers={"content-type": "application/json", "accept": "application/json"},
            body={"grant_type": "password", "username": "bob", "password": PASSWORD, "api_keys": [{"name": "x"}]},
        )
    assert caught.value.body["error"]["reason"] == (
        "action [cluster:admin/xpack/security/api_key/grant/bulk] is unauthorized for user [alice] with effective "
        "roles [own_keys], this action is granted by the cluster privileges "
        "[grant_api_key,manage_api_key,manage_security,all]"
    )


def jwt_shaped(claims: dict, algorithm: str = "HS256") -> str:
    """A token shaped like a signed JWT (this server issues none and verifies none)."""
    header, payload = (
        base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
        for part in ({"alg": algorithm, "typ": "JWT"}, claims)
    )
    return f"{header}.{payload}.c2lnbmF0dXJl"


SHARED_SECRET = {"scheme": "SharedSecret", "value": "client-secret"}


@pytest.mark.parametrize(
    ("token", "counts"),
    [
        (jwt_shaped({"sub": "alice"}), True),
        (jwt_shaped({"sub": "alice"}, algorithm="none"), False),
        (".".join(jwt_shaped({"sub": "alice"}).split(".")[:2]), False),
        ("abc.def.ghi", False),
        ("dGhpcyBpcyBub3QgSlNPTg.e30.c2ln", False),
        ("", False),
    ],
)
def test_only_a_signed_jwt_counts_as_one(token, counts):
    assert is_jwt(token) is counts


def test_client_authentication_with_one_of_our_own_tokens_is_a_bad_request_and_leaves_the_token_usable(
    granter_es, es_url, alice
):
    token = granter_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)
    body = {
        "grant_type": "access_token",
        "access_token": token["access_token"],
        "client_authentication": SHARED_SECRET,
        "api_key": {"name": "for-alice"},
    }
    with pytest.raises(BadRequestError) as caught:
        granter_es.security.grant_api_key(body=body)
    assert caught.value.body["error"]["type"] == "security_exception"
    assert caught.value.body["error"]["reason"] == (
        "[client_authentication] not supported with the supplied access_token type"
    )
    assert not ApiKey.objects.exists()
    me = Elasticsearch(es_url, bearer_auth=token["access_token"]).security.authenticate()
    assert me["username"] == "alice"


def test_client_authentication_with_a_jwt_goes_on_to_authenticate_it_and_this_server_knows_no_jwt(granter_es, alice):
    body = {
        "grant_type": "access_token",
        "access_token": jwt_shaped({"sub": "alice"}),
        "client_authentication": SHARED_SECRET,
        "api_key": {"name": "for-alice"},
    }
    with pytest.raises(AuthorizationException) as caught:
        granter_es.security.grant_api_key(body=body)
    assert caught.value.body["error"]["reason"].startswith("unable to authenticate with the access token")
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("credentials", "error_type", "reason"),
    [
        (
            {
                "grant_type": "password",
                "username": "alice",
                "password": PASSWORD,
                "client_authentication": SHARED_SECRET,
            },
            "action_request_validation_exception",
            "Validation Failed: 1: [client_authentication] is not supported for grant_type [password];",
        ),
        (
            {
                "grant_type": "access_token",
                "access_token": "t",
                "client_authentication": {"scheme": "Basic", "value": "v"},
            },
            "action_request_validation_exception",
            "Validation Failed: 1: [client_authentication.scheme] must be set to [SharedSecret];",
        ),
        (
            {"grant_type": "access_token", "access_token": "t", "client_authentication": "SharedSecret v"},
            "x_content_parse_exception",
            "[client_authentication] must be an object",
        ),
        (
            {"grant_type": "access_token", "access_token": "t", "client_authentication": {"scheme": "SharedSecret"}},
            "x_content_parse_exception",
            "[client_authentication] Required [value]",
        ),
        (
            {"grant_type": "access_token", "access_token": "t", "client_authentication": {**SHARED_SECRET, "x": 1}},
            "x_content_parse_exception",
            "[client_authentication] unknown field [x]",
        ),
    ],
)
def test_misplaced_or_malformed_client_authentication_is_refused_and_grants_nothing(
    granter_es, alice, credentials, error_type, reason
):
    with pytest.raises(BadRequestError) as caught:
        granter_es.security.grant_api_key(body={**credentials, "api_key": {"name": "k"}})
    assert caught.value.body["error"]["type"] == error_type
    assert caught.value.body["error"]["reason"] == reason
    assert not ApiKey.objects.exists()


def test_bulk_grant_reads_client_authentication_as_grant_does(granter_es, alice):
    token = granter_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)
    with pytest.raises(BadRequestError) as caught:
        granter_es.perform_request(
            "POST",
            "/_security/api_key/_bulk_grant",
            headers={"content-type": "application/json", "accept": "application/json"},
            body={
                "grant_type": "access_token",
                "access_token": token["access_token"],
                "client_authentication": SHARED_SECRET,
                "api_keys": [{"name": "k"}],
            },
        )
    assert caught.value.body["error"]["reason"] == (
        "[client_authentication] not supported with the supplied access_token type"
    )
    assert not ApiKey.objects.exists()
