"""A cross-cluster key's certificate identity (Elasticsearch 9.3) through the official client: set on create,
replaced, kept or removed on update, returned by get and query, checked as Java compiles a regular expression,
carried over by a roll, and refused on user (REST) keys."""

from __future__ import annotations

import pytest
from elasticsearch import BadRequestError, Elasticsearch

from apikeys.models import ApiKey
from tests.conftest import es_as, make_role, make_user

ACCESS = {"search": [{"names": ["logs-*"]}]}
IDENTITY = "CN=remote-.*,OU=engineering,DC=example,DC=com"
JSON = {"content-type": "application/json", "accept": "application/json"}


@pytest.fixture
def security_es(es_url, db) -> Elasticsearch:
    make_user("sec", make_role("security_admin", {"cluster": ["manage_security"]}))
    return es_as(es_url, "sec")


def stored(key_id: str) -> str | None:
    return ApiKey.objects.get(pk=key_id).certificate_identity


def test_a_cross_cluster_key_keeps_its_certificate_identity_and_shows_it_after_its_access(security_es):
    created = security_es.security.create_cross_cluster_api_key(
        name="remote", access=ACCESS, certificate_identity=IDENTITY
    )
    plain = security_es.security.create_cross_cluster_api_key(name="plain", access=ACCESS)

    (key,) = security_es.security.get_api_key(id=created["id"])["api_keys"]
    assert key["certificate_identity"] == IDENTITY
    assert list(key)[list(key).index("access") + 1] == "certificate_identity"
    (without,) = security_es.security.get_api_key(id=plain["id"])["api_keys"]
    assert "certificate_identity" not in without
    found = security_es.security.query_api_keys(query={"term": {"name": "remote"}})["api_keys"]
    assert found[0]["certificate_identity"] == IDENTITY


def test_an_update_replaces_keeps_or_removes_it(security_es):
    key_id = security_es.security.create_cross_cluster_api_key(
        name="remote", access=ACCESS, certificate_identity=IDENTITY
    )["id"]

    def update(**body) -> bool:
        return security_es.security.update_cross_cluster_api_key(id=key_id, body=body)["updated"]

    assert update(metadata={"tier": "hot"}) is True and stored(key_id) == IDENTITY  # absent: kept
    assert update(certificate_identity="CN=other") is True and stored(key_id) == "CN=other"
    assert update(certificate_identity="CN=other") is False
    assert update(certificate_identity=None) is True and stored(key_id) is None  # null: removed
    assert update(certificate_identity=None) is False
    (key,) = security_es.security.get_api_key(id=key_id)["api_keys"]
    assert "certificate_identity" not in key and key["metadata"] == {"tier": "hot"}


def test_an_expiration_alone_is_no_cross_cluster_update(security_es):
    key_id = security_es.security.create_cross_cluster_api_key(name="remote", access=ACCESS)["id"]
    with pytest.raises(BadRequestError) as caught:
        security_es.security.update_cross_cluster_api_key(id=key_id, body={"expiration": "1d"})
    assert caught.value.body["error"]["reason"] == (
        "Validation Failed: 1: must update  [access] or [metadata] or [certificate_identity] for cross-cluster API keys;"
    )
    assert ApiKey.objects.get(pk=key_id).expiration is None


@pytest.mark.parametrize("identity", [r"CN=\p{Alpha}+,O=Example", r"\QCN=a+b\E", "(?<host>[a-z]+)\\.example", ""])
def test_java_patterns_are_taken(security_es, identity):
    created = security_es.security.create_cross_cluster_api_key(
        name="remote", access=ACCESS, certificate_identity=identity
    )
    assert stored(created["id"]) == identity


@pytest.mark.parametrize("identity", ["CN=(remote", "CN=[a-", "*CN", "CN={host}", "(?P<host>x)"])
def test_what_java_cannot_compile_is_refused_and_nothing_changes(security_es, identity):
    key_id = security_es.security.create_cross_cluster_api_key(
        name="remote", access=ACCESS, certificate_identity=IDENTITY
    )["id"]
    reason = f"Invalid certificate_identity format: [{identity}]. Must be a valid regex."
    with pytest.raises(BadRequestError) as caught:
        security_es.security.create_cross_cluster_api_key(name="bad", access=ACCESS, certificate_identity=identity)
    assert caught.value.body["error"] == {
        "root_cause": [{"type": "illegal_argument_exception", "reason": reason}],
        "type": "illegal_argument_exception",
        "reason": reason,
    }
    with pytest.raises(BadRequestError):
        security_es.security.update_cross_cluster_api_key(id=key_id, body={"certificate_identity": identity})
    assert ApiKey.objects.count() == 1 and stored(key_id) == IDENTITY


@pytest.mark.parametrize(("value", "token"), [(7, "VALUE_NUMBER"), (["CN=a"], "START_ARRAY"), (True, "VALUE_BOOLEAN")])
def test_a_certificate_identity_that_is_not_a_string_is_refused(security_es, value, token):
    with pytest.raises(BadRequestError) as caught:
        security_es.security.create_cross_cluster_api_key(
            body={"name": "bad", "access": ACCESS, "certificate_identity": value}
        )
    assert caught.value.body["error"]["type"] == "x_content_parse_exception"
    assert caught.value.body["error"]["reason"] == (
        f"[create_cross_cluster_api_key] certificate_identity doesn't support values of type: {token}"
    )
    assert not ApiKey.objects.exists()


def test_user_keys_take_no_certificate_identity(admin_es):
    rest = admin_es.security.create_api_key(name="rest")
    attempts = [
        ("POST", "/_security/api_key", {"name": "rest-2", "certificate_identity": IDENTITY}),
        ("PUT", f"/_security/api_key/{rest['id']}", {"certificate_identity": IDENTITY}),
        ("POST", "/_security/api_key/_bulk_update", {"ids": [rest["id"]], "certificate_identity": IDENTITY}),
    ]
    for method, path, body in attempts:
        with pytest.raises(BadRequestError) as caught:
            admin_es.perform_request(method, path, headers=JSON, body=body)
        assert caught.value.body["error"]["type"] == "x_content_parse_exception"
        assert caught.value.body["error"]["reason"].endswith("unknown field [certificate_identity]")
    assert ApiKey.objects.count() == 1 and stored(rest["id"]) is None


def test_it_is_not_a_field_of_the_query_api(security_es):
    security_es.security.create_cross_cluster_api_key(name="remote", access=ACCESS, certificate_identity=IDENTITY)
    with pytest.raises(BadRequestError) as caught:
        security_es.security.query_api_keys(query={"exists": {"field": "certificate_identity"}})
    assert "Field [certificate_identity] is not allowed" in caught.value.body["error"]["reason"]


def test_a_rolled_key_s_successor_keeps_it(security_es):
    key_id = security_es.security.create_cross_cluster_api_key(
        name="remote", access=ACCESS, certificate_identity=IDENTITY
    )["id"]
    successor = security_es.perform_request("POST", f"/_security/api_key/{key_id}/_roll", headers=JSON, body={})
    assert stored(successor["id"]) == IDENTITY
