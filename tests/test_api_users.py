"""The user endpoints through the official client against a live server: putting (creating, overwriting), getting
several users, changing passwords (anyone's with manage_security, one's own otherwise, never through a key or a
token), with Elasticsearch's refusals; and, through Django's client, bad requests that change nothing."""

from __future__ import annotations

import pytest
from elasticsearch import (
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
    NotFoundError,
)

from apikeys.domain import passwords
from apikeys.infra import caching
from apikeys.models import AuditEvent, User
from tests.conftest import PASSWORD, apikey_header, basic, es_as, make_user, new_key
from tests.test_api_validation import database_state
from tests.test_passwords import ELASTICSEARCH_STRETCH_HASH, ELASTICSEARCH_STRETCH_SECRET

NEW_PASSWORD = "a brand new passphrase"
CHANGE_PASSWORD = "cluster:admin/xpack/security/user/change_password"


def refusal(caught: pytest.ExceptionInfo) -> tuple[int, str, str]:
    error = caught.value.body["error"]
    return caught.value.meta.status, error["type"], error["reason"]


def authenticates(es: Elasticsearch) -> bool:
    """Whether the client's credentials (a password, a key, a token) authenticate now; False on a 401."""
    try:
        es.security.authenticate()
    except AuthenticationException as refused:
        assert refused.body["error"]["type"] == "security_exception"
        return False
    return True


def signs_in(es_url: str, username: str, password: str) -> bool:
    return authenticates(es_as(es_url, username, password))


def assert_denied(caught: pytest.ExceptionInfo, action: str, who: str) -> None:
    """A 403 naming the action, who asked, and the privileges that grant it."""
    status, kind, reason = refusal(caught)
    assert (status, kind) == (403, "security_exception")
    assert reason.startswith(f"action [{action}] is unauthorized for {who}")
    assert reason.endswith("this action is granted by the cluster privileges [manage_security,all]")


# --- Putting and getting users --------------------------------------------------------------------------------


def test_putting_an_existing_user_replaces_everything_but_the_password(admin_es, es_url):
    answer = admin_es.security.put_user(
        username="dana",
        password="dana-password",
        roles=["a", "b"],
        full_name="Dana",
        email="dana@example.com",
        metadata={"team": "x"},
        enabled=False,
    )
    assert answer.body == {"created": True}
    assert admin_es.security.put_user(username="dana", roles=["c"]).body == {"created": False}
    assert admin_es.security.get_user(username="dana").body == {
        "dana": {
            "username": "dana",
            "roles": ["c"],
            "full_name": None,
            "email": None,
            "metadata": {},
            "enabled": True,
        }
    }
    assert signs_in(es_url, "dana", "dana-password")


def test_roles_may_be_given_as_one_comma_separated_string(admin_es):
    admin_es.security.put_user(username="dana", body={"password": "dana-password", "roles": "a,b"})
    assert admin_es.security.get_user(username="dana")["dana"]["roles"] == ["a", "b"]


def test_the_username_in_the_body_must_be_the_one_in_the_path(admin_es):
    assert admin_es.security.put_user(
        username="dana", body={"username": "dana", "password": "dana-password", "roles": []}
    ).body == {"created": True}
    with pytest.raises(BadRequestError) as caught:
        admin_es.security.put_user(username="dana", body={"username": "erin", "roles": []})
    assert refusal(caught) == (
        400,
        "illegal_argument_exception",
        "[username] in source does not match the username provided [dana]",
    )
    assert not User.objects.filter(username="erin").exists()


def test_a_user_is_put_only_under_its_name_in_the_path(api, admin):
    response = api("PUT", "/_security/user", basic(admin), {"username": "dana", "password": "x" * 8, "roles": []})
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert not User.objects.filter(username="dana").exists()


def test_a_put_without_roles_is_refused_as_elasticsearch_refuses_it(admin_es):
    with pytest.raises(BadRequestError) as caught:
        admin_es.security.put_user(username="dana", password="dana-password")
    assert refusal(caught) == (400, "action_request_validation_exception", "Validation Failed: 1: roles are missing;")
    with pytest.raises(BadRequestError) as caught:
        admin_es.security.put_user(username="dana", roles=[])
    assert refusal(caught) == (
        400,
        "validation_exception",
        "Validation Failed: 1: password must be specified unless you are updating an existing user;",
    )
    assert not User.objects.filter(username="dana").exists()


def test_getting_several_users_answers_those_found_and_404_when_none_is(admin_es, alice, bob):
    found = admin_es.security.get_user(username=["alice", "bob", "nobody"])
    assert sorted(found.body) == ["alice", "bob"]
    assert found["bob"]["roles"] == ["own_keys"]
    assert admin_es.security.get_user(username="alice,bob", with_profile_uid=True).body == found.body
    with pytest.raises(NotFoundError) as caught:
        admin_es.security.get_user(username=["nobody", "nemo"])
    assert caught.value.body == {}
    assert {"admin", "alice", "bob"} <= set(admin_es.security.get_user(with_profile_uid=False).body)


def test_with_profile_uid_must_be_a_boolean(api, admin):
    response = api("GET", "/_security/user/alice", basic(admin), with_profile_uid="maybe")
    assert response.status_code == 400
    assert "only [true] or [false] are allowed" in response.json()["error"]["reason"]


def test_a_password_hash_from_elasticsearch_becomes_the_users_password(admin_es, es_url, settings):
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, "apikeys.domain.passwords.ElasticsearchPbkdf2Hasher"]
    admin_es.security.put_user(username="fleet", password_hash=ELASTICSEARCH_STRETCH_HASH, roles=[])
    assert signs_in(es_url, "fleet", ELASTICSEARCH_STRETCH_SECRET)
    assert not signs_in(es_url, "fleet", "not-the-secret")


# --- Changing passwords ------------------------------------------------------------------------------------------


def test_a_user_changes_its_own_password_and_the_remembered_old_one_stops_at_once(alice_es, es_url, alice):
    old_hash = alice.password
    assert alice_es.security.authenticate()["username"] == "alice"
    assert caching.recalls_password(alice.pk, caching.fingerprint(PASSWORD, old_hash)), "the success is remembered"

    assert alice_es.security.change_password(password=NEW_PASSWORD).body == {}

    assert not signs_in(es_url, "alice", PASSWORD)
    assert signs_in(es_url, "alice", NEW_PASSWORD)
    event = AuditEvent.objects.get(action="user_change", target="alice")
    assert event.actor == "alice" and event.details == {"fields": ["password"]}


def test_a_user_may_name_itself_in_the_path_too(alice_es, es_url):
    assert alice_es.security.change_password(username="alice", password=NEW_PASSWORD, refresh="wait_for").body == {}
    assert signs_in(es_url, "alice", NEW_PASSWORD)


def test_manage_security_changes_anyones_password_with_put_or_post(admin_es, es_url, alice, bob):
    admin_es.security.change_password(username="alice", password=NEW_PASSWORD)
    posted = admin_es.perform_request(
        "POST",
        "/_security/user/bob/_password",
        headers={"content-type": "application/json", "accept": "application/json"},
        body={"password": NEW_PASSWORD},
    )
    assert posted.body == {}
    assert signs_in(es_url, "alice", NEW_PASSWORD) and signs_in(es_url, "bob", NEW_PASSWORD)
    assert signs_in(es_url, "admin", PASSWORD)


def test_an_administrator_can_set_a_password_hash(admin_es, es_url, alice, settings):
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, "apikeys.domain.passwords.ElasticsearchPbkdf2Hasher"]
    admin_es.security.change_password(username="alice", password_hash=ELASTICSEARCH_STRETCH_HASH)
    assert signs_in(es_url, "alice", ELASTICSEARCH_STRETCH_SECRET)
    assert not signs_in(es_url, "alice", PASSWORD)


def test_another_users_password_needs_manage_security(alice_es, es_url, bob):
    with pytest.raises(AuthorizationException) as caught:
        alice_es.security.change_password(username="bob", password=NEW_PASSWORD)
    assert_denied(caught, CHANGE_PASSWORD, "user [alice]")
    assert signs_in(es_url, "bob", PASSWORD)


def test_a_user_signed_in_with_a_token_may_not_change_its_own_password(admin_es, es_url, alice):
    token = admin_es.security.get_token(grant_type="password", username="alice", password=PASSWORD)["access_token"]
    with pytest.raises(AuthorizationException) as caught:
        Elasticsearch(es_url, bearer_auth=token).security.change_password(password=NEW_PASSWORD)
    assert_denied(caught, CHANGE_PASSWORD, "user [alice]")
    assert signs_in(es_url, "alice", PASSWORD)


def test_an_api_key_changes_a_password_only_with_manage_security(es_url, alice, admin):
    alices = new_key(alice, "alices")
    with pytest.raises(AuthorizationException) as caught:
        Elasticsearch(es_url, api_key=alices.encoded).security.change_password(password=NEW_PASSWORD)
    assert_denied(caught, CHANGE_PASSWORD, f"API key id [{alices.key.id}] of user [alice]")
    assert signs_in(es_url, "alice", PASSWORD)
    # As in Elasticsearch, a key holding manage_security may (here: an administrator's key, limited by its roles).
    admins = new_key(admin, "admins")
    Elasticsearch(es_url, api_key=admins.encoded).security.change_password(username="alice", password=NEW_PASSWORD)
    assert signs_in(es_url, "alice", NEW_PASSWORD)


def test_an_unknown_user_or_a_service_account_has_no_password_to_change(admin_es, db):
    User.objects.create(username="console-service", is_service_account=True)
    for username in ("nobody", "console-service"):
        with pytest.raises(BadRequestError) as caught:
            admin_es.security.change_password(username=username, password=NEW_PASSWORD)
        assert refusal(caught) == (
            400,
            "validation_exception",
            "Validation Failed: 1: user must exist in order to change password;",
        )


@pytest.mark.parametrize(
    ("body", "status", "error_type", "reason"),
    [
        ({}, 400, "action_request_validation_exception", "Validation Failed: 1: password is missing;"),
        (
            {"password": "short"},
            400,
            "validation_exception",
            "Validation Failed: 1: passwords must be at least [6] characters long;",
        ),
        (
            {"password": 123456},
            400,
            "parse_exception",
            "expected field [password] to be of type string, but found [VALUE_NUMBER] instead",
        ),
        (
            {"password": NEW_PASSWORD, "colour": "red"},
            400,
            "parse_exception",
            "failed to parse change password request. unexpected field [colour]",
        ),
        (
            {"password": NEW_PASSWORD, "password_hash": ELASTICSEARCH_STRETCH_HASH},
            400,
            "validation_exception",
            "Validation Failed: 1: password_hash has already been set;",
        ),
        (
            {"password_hash": "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
            400,
            "illegal_argument_exception",
            passwords.NOT_A_HASH,
        ),
        (None, 400, "parse_exception", "request body is required"),
    ],
)
def test_a_bad_password_body_is_refused_and_changes_nothing(api, admin, alice, body, status, error_type, reason):
    before = database_state()
    for path in ("/_security/user/alice/_password", "/_security/user/_password"):
        response = api("PUT", path, basic(alice), body)
        assert response.status_code == status, response.content
        error = response.json()["error"]
        assert (error["type"], error["reason"]) == (error_type, reason)
    assert database_state() == before


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"roles": [], "metadata": None}, "expected field [metadata] to be of type object, but found [VALUE_NULL]"),
        ({"roles": [], "full_name": 7}, "expected field [full_name] to be of type string, but found [VALUE_NUMBER]"),
        ({"roles": None}, "could not parse [roles] field. expected a string array but found null value instead"),
        ({"roles": {"a": 1}}, "could not parse [roles] field. expected a string array but found [START_OBJECT] value"),
        ({"roles": [], "username": 5}, "expected field [username] to be of type string, but found [VALUE_NUMBER]"),
        ({"roles": [], "metadata": {"_hidden": 1}}, "Validation Failed: 1: metadata keys may not start with [_];"),
        ({"roles": [], "password_hash": "{PBKDF2}10000$bad"}, passwords.NOT_A_HASH),
        ({"roles": [], "full_name": "x" * 256}, "Validation Failed: 1: [full_name] may hold at most 255 characters;"),
    ],
)
def test_a_bad_user_body_is_refused_and_changes_nothing(api, admin, alice, body, reason):
    before = database_state()
    response = api("PUT", "/_security/user/alice", basic(admin), body)
    assert response.status_code == 400, response.content
    assert reason in response.json()["error"]["reason"]
    assert database_state() == before


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/_security/user/alice/_password", "POST,PUT"),
        ("DELETE", "/_security/user/_password", "POST,PUT"),
        ("GET", "/_security/user/alice/_enable", "POST,PUT"),
        ("DELETE", "/_security/user/alice/_disable", "POST,PUT"),
    ],
)
def test_the_wrong_method_is_refused(api, admin, method, path, allowed):
    response = api(method, path, basic(admin))
    assert response.status_code == 405
    assert response["Allow"] == allowed


@pytest.mark.parametrize(
    "path", ["/_security/user/alice/_password", "/_security/user/_password", "/_security/user/alice/_disable"]
)
@pytest.mark.parametrize("auth", [None, "wrong password", "unknown key"])
def test_anonymous_or_wrong_credentials_are_refused_and_change_nothing(api, alice, path, auth):
    header = {None: None, "wrong password": basic(alice, "wrong"), "unknown key": apikey_header("bm86c3VjaA==")}[auth]
    before = database_state()
    response = api("PUT", path, header, {"password": NEW_PASSWORD})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "security_exception"
    assert database_state() == before


def test_a_user_created_with_a_password_signs_in_with_it(admin_es, es_url):
    make_user("erin")
    admin_es.security.change_password(username="erin", password=NEW_PASSWORD)
    assert signs_in(es_url, "erin", NEW_PASSWORD)
