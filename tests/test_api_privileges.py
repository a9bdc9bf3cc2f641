"""`GET /_security/privilege/_builtin` and `GET /_security/user/_privileges`: the official client against a live
server, and Django's test client for the refusals."""

from __future__ import annotations

import pytest
from elasticsearch import AuthorizationException, BadRequestError, Elasticsearch

from apikeys.models import ApiKey
from tests.conftest import PASSWORD, apikey_header, basic, es_as, make_role, make_user, new_key

BUILTIN = "/_security/privilege/_builtin"
MINE = "/_security/user/_privileges"


def test_the_builtin_privileges_are_elasticsearchs_three_sorted_lists(es_url, reader):
    answer = es_as(es_url, "reader").security.get_builtin_privileges()
    assert list(answer.body) == ["cluster", "index", "remote_cluster"]
    assert answer["remote_cluster"] == ["monitor_enrich", "monitor_stats"]
    for listed in answer.body.values():
        assert listed == sorted(set(listed))
    assert len(answer["cluster"]) == 67 and len(answer["index"]) == 28
    assert {"clone_api_key", "manage_esql", "monitor_stats", "manage_reindex", "read_security"} <= set(
        answer["cluster"]
    )
    assert {"read_failure_store", "manage_data_stream_lifecycle", "manage_view"} <= set(answer["index"])


def test_every_builtin_privilege_is_one_a_role_may_hold(admin_es):
    builtin = admin_es.security.get_builtin_privileges()
    admin_es.security.put_role(
        name="everything",
        cluster=builtin["cluster"],
        indices=[{"names": ["a"], "privileges": builtin["index"]}],
        remote_cluster=[{"privileges": builtin["remote_cluster"], "clusters": ["*"]}],
    )
    role = admin_es.security.get_role(name="everything")["everything"]
    assert role["cluster"] == builtin["cluster"] and role["indices"][0]["privileges"] == builtin["index"]


def test_listing_builtin_privileges_needs_read_security(es_url, charlie, manager):
    for username in ("charlie", "manager"):
        with pytest.raises(AuthorizationException) as refused:
            es_as(es_url, username).security.get_builtin_privileges()
        reason = refused.value.body["error"]["reason"]
        assert reason.startswith(
            f"action [cluster:admin/xpack/security/privilege/builtin/get] is unauthorized for user [{username}]"
        )
        assert reason.endswith("this action is granted by the cluster privileges [read_security,manage_security,all]")


def test_the_builtin_route_is_not_an_application_named_builtin(api, admin):
    answer = api("GET", BUILTIN, basic(admin)).json()
    assert set(answer) == {"cluster", "index", "remote_cluster"}
    assert api("GET", "/_security/privilege/builtin", basic(admin)).status_code == 404


@pytest.mark.parametrize("path", [BUILTIN, MINE])
def test_both_answer_get_only(api, admin, path):
    for method in ("POST", "PUT", "DELETE"):
        refused = api(method, path, basic(admin))
        assert refused.status_code == 405 and refused["Allow"] == "GET"


@pytest.mark.parametrize("path", [BUILTIN, MINE])
def test_both_need_credentials_that_hold(api, alice, path):
    assert api("GET", path).status_code == 401
    assert api("GET", path, basic(alice, "wrong-password")).status_code == 401
    assert api("GET", path, "ApiKey bm8tc3VjaC1rZXk6c2VjcmV0").status_code == 401


# --- The caller's privileges ---------------------------------------------------------------------------------


@pytest.fixture
def dana(db):
    """Two roles naming the same index patterns, one also restricted indices, remote sections and `global`."""
    reader = make_role(
        "logs_reader",
        {
            "cluster": ["monitor", "manage_own_api_key"],
            "indices": [
                {"names": ["logs-*", "metrics"], "privileges": ["read"], "query": {"term": {"team": "a"}}},
                {"names": ["books"], "privileges": ["read"], "field_security": {"grant": ["title"]}},
            ],
            "applications": [{"application": "app", "privileges": ["read"], "resources": ["r1"]}],
            "run_as": ["bot"],
            "remote_indices": [{"names": ["remote-logs"], "privileges": ["read"], "clusters": ["eu", "asia"]}],
        },
    )
    writer = make_role(
        "logs_writer",
        {
            "cluster": ["monitor"],
            "global": {"application": {"manage": {"applications": ["app"]}}},
            "indices": [
                {"names": ["metrics", "logs-*"], "privileges": ["write"], "query": {"term": {"team": "b"}}},
                {"names": ["books"], "privileges": ["write"]},
                {"names": [".security*"], "privileges": ["read"], "allow_restricted_indices": True},
            ],
            "applications": [{"application": "app", "privileges": ["write"], "resources": ["r1"]}],
            "run_as": ["alpha"],
            "remote_cluster": [{"privileges": ["monitor_stats"], "clusters": ["eu"]}],
        },
    )
    return make_user("dana", reader, writer)


def test_a_user_sees_its_roles_merged_as_elasticsearch_merges_them(es_url, dana):
    mine = es_as(es_url, "dana").security.get_user_privileges().body
    assert list(mine) == ["cluster", "global", "indices", "applications", "run_as", "remote_indices", "remote_cluster"]
    assert mine["cluster"] == ["manage_own_api_key", "monitor"]
    assert mine["global"] == [{"application": {"manage": {"applications": ["app"]}}}]
    assert mine["indices"] == [
        {
            "names": ["logs-*", "metrics"],
            "privileges": ["read", "write"],
            "query": ['{"term":{"team":"a"}}', '{"term":{"team":"b"}}'],
            "allow_restricted_indices": False,
        },
        {"names": ["books"], "privileges": ["read", "write"], "allow_restricted_indices": False},
        {"names": [".security*"], "privileges": ["read"], "allow_restricted_indices": True},
    ]
    assert mine["applications"] == [{"application": "app", "privileges": ["read", "write"], "resources": ["r1"]}]
    assert mine["run_as"] == ["alpha", "bot"]
    assert mine["remote_indices"] == [
        {
            "names": ["remote-logs"],
            "privileges": ["read"],
            "allow_restricted_indices": False,
            "clusters": ["asia", "eu"],
        }
    ]
    assert mine["remote_cluster"] == [{"privileges": ["monitor_stats"], "clusters": ["eu"]}]


def test_a_user_without_roles_holds_nothing_and_may_still_ask(es_url, charlie):
    mine = es_as(es_url, "charlie").security.get_user_privileges().body
    assert mine == {"cluster": [], "global": [], "indices": [], "applications": [], "run_as": []}


def test_a_superuser_holds_the_superuser_role(es_url, admin):
    mine = es_as(es_url, "admin").security.get_user_privileges()
    assert mine["cluster"] == ["all"] and mine["run_as"] == ["*"]
    assert mine["indices"] == [{"names": ["*"], "privileges": ["all"], "allow_restricted_indices": True}]
    assert mine["applications"] == [{"application": "*", "privileges": ["*"], "resources": ["*"]}]


def test_a_key_without_descriptors_answers_its_owner_snapshot(es_url, dana):
    key = es_as(es_url, "dana").security.create_api_key(name="plain")
    as_key = Elasticsearch(es_url, api_key=key["encoded"]).security.get_user_privileges().body
    assert as_key == es_as(es_url, "dana").security.get_user_privileges().body


def test_a_key_with_descriptors_of_its_own_is_refused_as_elasticsearch_refuses_it(es_url, dana):
    key = es_as(es_url, "dana").security.create_api_key(
        name="narrow", role_descriptors={"r": {"indices": [{"names": ["books"], "privileges": ["read"]}]}}
    )
    with pytest.raises(BadRequestError) as refused:
        Elasticsearch(es_url, api_key=key["encoded"]).security.get_user_privileges()
    assert refused.value.body["error"]["type"] == "illegal_argument_exception"
    assert refused.value.body["error"]["reason"] == (
        "Cannot retrieve privileges for API keys with assigned role descriptors. "
        "Please use the Get API key information API https://ela.st/es-api-get-api-key"
    )


def test_the_snapshot_not_the_owners_current_roles_is_what_a_key_holds(api, dana):
    created = new_key(dana, "snapshot")
    dana.role_names = ["logs_reader"]
    dana.save()
    as_key = api("GET", MINE, apikey_header(created.encoded)).json()
    as_user = api("GET", MINE, basic(dana)).json()
    assert "remote_cluster" in as_key and "remote_cluster" not in as_user
    assert ApiKey.objects.get(id=created.key.id).limited_by.keys() == {"logs_reader", "logs_writer"}


def test_a_token_holder_sees_its_users_privileges(es_url, admin_es, dana):
    token = admin_es.security.get_token(grant_type="password", username="dana", password=PASSWORD)
    as_token = Elasticsearch(es_url, bearer_auth=token["access_token"]).security.get_user_privileges().body
    assert as_token["cluster"] == ["manage_own_api_key", "monitor"]
