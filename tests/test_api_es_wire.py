"""Elasticsearch's wire behaviour through the official client: `filter_path` on answers and errors, users
holding role names that do not exist yet, and refusals worded as Elasticsearch words them."""

from __future__ import annotations

import pytest
from elasticsearch import AuthorizationException, BadRequestError, Elasticsearch

from apikeys.models import User
from apikeys.services import create_managed_api_key
from tests.conftest import es_as


@pytest.fixture
def two_keys(admin_es) -> list[dict]:
    return [admin_es.security.create_api_key(name=name, metadata={"team": name}) for name in ("alpha", "beta")]


def test_filter_path_keeps_the_named_paths(admin_es, two_keys):
    answer = admin_es.security.get_api_key(owner=True, filter_path="api_keys.id,api_keys.name")
    assert answer.body == {"api_keys": [{"id": k["id"], "name": k["name"]} for k in two_keys]}


def test_filter_path_wildcards_and_exclusions(admin_es, two_keys):
    names = admin_es.security.query_api_keys(sort=["name"], filter_path="api_keys.na*")
    assert names.body == {"api_keys": [{"name": "alpha"}, {"name": "beta"}]}
    deep = admin_es.security.query_api_keys(sort=["name"], filter_path="**.team")
    assert deep.body == {"api_keys": [{"metadata": {"team": "alpha"}}, {"metadata": {"team": "beta"}}]}
    without = admin_es.security.query_api_keys(sort=["name"], filter_path="-api_keys,-total")
    assert without.body == {"count": 2}
    some = admin_es.security.query_api_keys(sort=["name"], filter_path="api_keys.name,api_keys.id,-api_keys.id")
    assert some.body == {"api_keys": [{"name": "alpha"}, {"name": "beta"}]}


def test_filter_path_with_nothing_left_is_an_empty_object(admin_es, two_keys):
    assert admin_es.security.get_api_key(owner=True, filter_path="nothing.here").body == {}


def test_filter_path_applies_to_errors_too(admin_es):
    with pytest.raises(BadRequestError) as caught:
        admin_es.security.create_api_key(body={"name": "_bad"}, filter_path="error.type")
    assert caught.value.body == {"error": {"type": "action_request_validation_exception"}}


def test_a_user_may_hold_a_role_that_does_not_exist_yet(admin_es, es_url):
    assert admin_es.security.put_user(username="dana", password="dana-password", roles=["future_role"]).body == {
        "created": True
    }
    assert User.objects.get(username="dana").role_names == ["future_role"]
    dana = Elasticsearch(es_url, basic_auth=("dana", "dana-password"))
    with pytest.raises(AuthorizationException) as caught:
        dana.security.create_api_key(name="too-soon")
    assert caught.value.body["error"]["reason"] == (
        "action [cluster:admin/xpack/security/api_key/create] is unauthorized for user [dana] with effective "
        "roles [] (assigned roles [future_role] were not found), this action is granted by the cluster "
        "privileges [manage_own_api_key,manage_api_key,manage_security,all]"
    )
    admin_es.security.put_role(name="future_role", cluster=["manage_own_api_key"])
    assert dana.security.create_api_key(name="now")["name"] == "now"
    assert dana.security.authenticate()["roles"] == ["future_role"]


def test_refusals_name_the_action_the_user_and_what_would_grant_it(es_url, alice, bob):
    with pytest.raises(AuthorizationException) as caught:
        es_as(es_url, "alice").security.invalidate_api_key(username="bob")
    assert caught.value.body["error"]["reason"] == (
        "action [cluster:admin/xpack/security/api_key/invalidate] is unauthorized for user [alice] with effective "
        "roles [own_keys], this action is granted by the cluster privileges [manage_api_key,manage_security,all]"
    )


def test_an_api_keys_refusal_names_the_key_and_its_owner(es_url, alice_es):
    key = alice_es.security.create_api_key(name="narrow", role_descriptors={"none": {"cluster": []}})
    with pytest.raises(AuthorizationException) as caught:
        Elasticsearch(es_url, api_key=key["encoded"]).security.get_role()
    assert caught.value.body["error"]["reason"] == (
        f"action [cluster:admin/xpack/security/role/get] is unauthorized for API key id [{key['id']}] of user "
        "[alice], this action is granted by the cluster privileges [read_security,manage_security,all]"
    )


def test_a_key_the_service_account_owns_is_named_as_a_key_of_a_user_as_in_elasticsearch(es_url, db):
    created = create_managed_api_key("robot")
    with pytest.raises(AuthorizationException) as caught:
        Elasticsearch(es_url, api_key=created.encoded).security.get_role()
    assert caught.value.body["error"]["reason"] == (
        f"action [cluster:admin/xpack/security/role/get] is unauthorized for API key id [{created.key.id}] of user "
        "[elastic/console], this action is granted by the cluster privileges [read_security,manage_security,all]"
    )


def test_a_document_query_is_echoed_as_json_text(admin_es):
    restricted = {"r": {"indices": [{"names": ["logs"], "privileges": ["read"], "query": {"term": {"team": "a"}}}]}}
    key = admin_es.security.create_api_key(name="dls", role_descriptors=restricted)
    (got,) = admin_es.security.get_api_key(id=key["id"])["api_keys"]
    assert got["role_descriptors"]["r"]["indices"][0]["query"] == '{"term":{"team":"a"}}'
    admin_es.security.put_role(name="dls_role", indices=[{"names": ["x"], "privileges": ["read"], "query": "{}"}])
    assert admin_es.security.get_role(name="dls_role")["dls_role"]["indices"][0]["query"] == "{}"
