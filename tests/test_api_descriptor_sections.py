"""Roles with `global`, `remote_indices` and `remote_cluster`, and keys restricted to workflows, through the
official client against a live server: echoed as Elasticsearch echoes them, refused in its words, and a bad body
changes nothing."""

from __future__ import annotations

import pytest
from elasticsearch import AuthorizationException, BadRequestError, Elasticsearch

from apikeys.models import ApiKey, Role
from tests.conftest import apikey_header, basic, es_as, make_role, make_user, new_key

WORKFLOW = {"workflows": ["search_application_query"]}
REMOTE_LOGS = {"names": ["logs-*"], "privileges": ["read"], "clusters": ["eu-*"]}


def test_a_role_with_global_and_remote_sections_is_echoed_as_elasticsearch_echoes_it(admin_es):
    created = admin_es.security.put_role(
        name="federated",
        cluster=["monitor"],
        global_={"application": {"manage": {"applications": ["kibana-*"]}}},
        remote_indices=[{**REMOTE_LOGS, "field_security": {"grant": ["msg"]}}],
        remote_cluster=[{"clusters": ["eu-*"], "privileges": ["monitor_enrich", "monitor_stats"]}],
    )
    assert created.body == {"role": {"created": True}}
    role = admin_es.security.get_role(name="federated")["federated"]
    assert role == {
        "cluster": ["monitor"],
        "global": {"application": {"manage": {"applications": ["kibana-*"]}}, "profile": {}, "role": {}},
        "indices": [],
        "applications": [],
        "run_as": [],
        "metadata": {},
        "transient_metadata": {"enabled": True},
        "remote_indices": [
            {
                "names": ["logs-*"],
                "privileges": ["read"],
                "field_security": {"grant": ["msg"]},
                "allow_restricted_indices": False,
                "clusters": ["eu-*"],
            }
        ],
        "remote_cluster": [{"privileges": ["monitor_enrich", "monitor_stats"], "clusters": ["eu-*"]}],
    }
    assert list(role) == [
        "cluster",
        "global",
        "indices",
        "applications",
        "run_as",
        "metadata",
        "transient_metadata",
        "remote_indices",
        "remote_cluster",
    ]


def test_a_role_shows_no_global_or_remote_section_it_does_not_hold(admin_es):
    admin_es.security.put_role(name="plain", global_={"profile": {}}, remote_indices=[], remote_cluster=[])
    role = admin_es.security.get_role(name="plain")["plain"]
    assert not {"global", "remote_indices", "remote_cluster", "restriction"} & set(role)


@pytest.mark.parametrize(
    ("body", "error_type", "reason", "path"),
    [
        (
            {"restriction": WORKFLOW},
            "parse_exception",
            "failed to parse role [bad]. unexpected field [restriction]",
            "restriction",
        ),
        (
            {"global": {"application": {"manage": {"apps": ["x"]}}}},
            "x_content_parse_exception",
            "failed to parse privilege. expected field name [applications] but found [apps] instead",
            "global.application.manage.apps",
        ),
        (
            {"remote_cluster": [{"privileges": ["monitor"], "clusters": ["eu"]}]},
            "parse_exception",
            "failed to parse remote_cluster for role [bad]. [monitor_enrich, monitor_stats] are the only values "
            "allowed for [privileges] within [remote_cluster]. Found [monitor]",
            "remote_cluster[0].privileges",
        ),
        (
            {"remote_indices": [{"names": ["logs"], "privileges": ["read"]}]},
            "parse_exception",
            "failed to parse remote indices privileges for role [bad]. missing required [clusters] field",
            "remote_indices[0]",
        ),
    ],
)
def test_a_bad_role_is_refused_in_elasticsearchs_words_and_not_stored(admin_es, body, error_type, reason, path):
    with pytest.raises(BadRequestError) as refused:
        admin_es.security.put_role(name="bad", body=body)
    assert refused.value.body == {
        "error": {
            "root_cause": [{"type": error_type, "reason": reason, "path": path}],
            "type": error_type,
            "reason": reason,
            "path": path,
        },
        "status": 400,
    }
    assert not Role.objects.filter(name="bad").exists()


# --- Keys restricted to workflows ----------------------------------------------------------------------------


def test_a_key_restricted_to_a_workflow_is_created_and_echoed_with_its_restriction(alice_es):
    created = alice_es.security.create_api_key(
        name="search-only",
        role_descriptors={
            "search": {"indices": [{"names": ["books"], "privileges": ["read"]}], "restriction": WORKFLOW}
        },
    )
    key = alice_es.security.get_api_key(id=created["id"], owner=True)["api_keys"][0]
    assert key["role_descriptors"]["search"]["restriction"] == WORKFLOW
    assert list(key["role_descriptors"]["search"])[-1] == "restriction"


def test_a_key_restricted_to_a_workflow_may_call_none_of_these_endpoints(es_url, alice_es):
    created = alice_es.security.create_api_key(name="search-only", role_descriptors={"s": {"restriction": WORKFLOW}})
    restricted = Elasticsearch(es_url, api_key=created["encoded"])
    for call in (restricted.security.authenticate, restricted.security.get_user_privileges):
        with pytest.raises(AuthorizationException) as refused:
            call()
        assert refused.value.body["error"] == {
            "root_cause": [{"type": "role_restriction_exception", "reason": "access restricted by workflow"}],
            "type": "role_restriction_exception",
            "reason": "access restricted by workflow",
        }
    unrestricted = alice_es.security.create_api_key(name="plain")
    assert Elasticsearch(es_url, api_key=unrestricted["encoded"]).security.authenticate()["username"] == "alice"


@pytest.mark.parametrize(
    ("descriptors", "error_type", "reason"),
    [
        (
            {"s": {"restriction": {"workflows": ["search_application"]}}},
            "action_request_validation_exception",
            "Validation Failed: 1: Unknown workflow [search_application]. A workflow must be one of the predefined "
            "workflow names [search_application_query].;",
        ),
        (
            {"s": {"restriction": {"workflows": []}}},
            "parse_exception",
            "failed to parse restriction for role [s]. [workflows] cannot be an empty array",
        ),
        (
            {"a": {"restriction": WORKFLOW}, "b": {"restriction": WORKFLOW}},
            "illegal_argument_exception",
            "more than one role descriptor with restriction is not supported",
        ),
        (
            {"a": {"restriction": WORKFLOW}, "b": {}},
            "illegal_argument_exception",
            "combining role descriptors with and without restriction is not supported",
        ),
    ],
)
def test_a_bad_restriction_is_refused_and_no_key_is_made(alice_es, descriptors, error_type, reason):
    with pytest.raises(BadRequestError) as refused:
        alice_es.security.create_api_key(name="bad", role_descriptors=descriptors)
    assert (refused.value.body["error"]["type"], refused.value.body["error"]["reason"]) == (error_type, reason)
    assert not ApiKey.objects.exists()


def test_updating_a_key_checks_its_restriction_too(alice_es):
    created = alice_es.security.create_api_key(name="k", role_descriptors={"r": {"cluster": ["monitor"]}})
    with pytest.raises(BadRequestError):
        alice_es.security.update_api_key(
            id=created["id"], role_descriptors={"a": {"restriction": WORKFLOW}, "b": {"restriction": WORKFLOW}}
        )
    assert ApiKey.objects.get(id=created["id"]).role_descriptors == {
        "r": {
            "cluster": ["monitor"],
            "indices": [],
            "applications": [],
            "run_as": [],
            "metadata": {},
            "transient_metadata": {"enabled": True},
        }
    }
    assert alice_es.security.update_api_key(id=created["id"], role_descriptors={"r": {"restriction": WORKFLOW}})[
        "updated"
    ]


def test_a_key_may_not_derive_a_restricted_key(api, alice):
    parent = new_key(alice, "parent")
    refused = api(
        "POST",
        "/_security/api_key",
        apikey_header(parent.encoded),
        {"name": "child", "role_descriptors": {"r": {"restriction": WORKFLOW}}},
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["reason"] == (
        "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)"
    )
    assert ApiKey.objects.count() == 1


# --- Remote sections grant nothing here ----------------------------------------------------------------------


def test_has_privileges_counts_only_local_privileges_with_remote_sections_present(es_url, db):
    make_user(
        "erin",
        make_role(
            "erin_role",
            {
                "indices": [{"names": ["books"], "privileges": ["read"]}],
                "remote_indices": [{**REMOTE_LOGS, "names": ["books", "logs"], "privileges": ["all"]}],
                "remote_cluster": [{"privileges": ["monitor_enrich"], "clusters": ["*"]}],
            },
        ),
    )
    answer = es_as(es_url, "erin").security.has_privileges(
        cluster=["monitor_enrich"], index=[{"names": ["books", "logs"], "privileges": ["read", "write"]}]
    )
    assert answer["cluster"] == {"monitor_enrich": False}
    assert answer["index"] == {"books": {"read": True, "write": False}, "logs": {"read": False, "write": False}}


def test_the_api_refuses_a_restricted_key_before_reading_its_request(api, alice):
    created = new_key(alice, "restricted", role_descriptors={"s": {"restriction": WORKFLOW}})
    refused = api("GET", "/_security/api_key?bogus=1", apikey_header(created.encoded))
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "role_restriction_exception"
    assert api("GET", "/_security/api_key?bogus=1", basic(alice)).status_code == 400
