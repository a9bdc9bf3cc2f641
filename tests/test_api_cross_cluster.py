"""Cross-cluster API keys through the official client: created and updated with `access`, listed and queried as
`cross_cluster`, refused for REST calls, and kept apart from the REST key APIs."""

from __future__ import annotations

import pytest
from elasticsearch import (
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
    NotFoundError,
)

from apikeys.models import ApiKey, AuditEvent
from tests.conftest import es_as, make_role, make_user

SEARCH_PRIVILEGES = ["read", "read_cross_cluster", "view_index_metadata"]
REPLICATION_PRIVILEGES = ["cross_cluster_replication", "cross_cluster_replication_internal"]
EMPTY_PARTS = {"applications": [], "run_as": [], "metadata": {}, "transient_metadata": {"enabled": True}}


@pytest.fixture
def security_es(es_url, db) -> Elasticsearch:
    """A user holding manage_security (and nothing to do with REST keys)."""
    make_user("sec", make_role("security_admin", {"cluster": ["manage_security"]}))
    return es_as(es_url, "sec")


def test_a_cross_cluster_key_is_built_from_its_access(security_es, es_url):
    created = security_es.security.create_cross_cluster_api_key(
        name="remote-logs",
        expiration="1d",
        access={
            "search": [
                {
                    "names": ["logs*"],
                    "query": {"term": {"category": "shared"}},
                    "field_security": {"grant": ["*"], "except": ["private"]},
                }
            ],
            "replication": [{"names": "archive", "allow_restricted_indices": False}],
        },
        metadata={"answer": 42},
    )
    assert list(created.body) == ["id", "name", "expiration", "api_key", "encoded"]

    (key,) = security_es.security.get_api_key(id=created["id"], with_limited_by=True)["api_keys"]
    assert key["type"] == "cross_cluster" and key["metadata"] == {"answer": 42}
    assert "limited_by" not in key, "a cross-cluster key is limited by nothing but its access"
    assert key["role_descriptors"] == {
        "cross_cluster": {
            "cluster": ["cross_cluster_search", "monitor_enrich", "cross_cluster_replication"],
            "indices": [
                {
                    "names": ["logs*"],
                    "privileges": SEARCH_PRIVILEGES,
                    "field_security": {"grant": ["*"], "except": ["private"]},
                    "query": '{"term":{"category":"shared"}}',
                    "allow_restricted_indices": False,
                },
                {"names": ["archive"], "privileges": REPLICATION_PRIVILEGES, "allow_restricted_indices": False},
            ],
            **EMPTY_PARTS,
        }
    }
    assert key["access"] == {
        "search": [
            {
                "names": ["logs*"],
                "field_security": {"grant": ["*"], "except": ["private"]},
                "query": '{"term":{"category":"shared"}}',
                "allow_restricted_indices": False,
            }
        ],
        "replication": [{"names": ["archive"], "allow_restricted_indices": False}],
    }

    with pytest.raises(AuthenticationException) as caught:
        Elasticsearch(es_url, api_key=created["encoded"]).security.authenticate()
    assert caught.value.body["error"]["reason"] == (
        f"authentication expected API key type of [rest], but API key [{created['id']}] has type [cross_cluster]"
    )


def test_a_search_only_key_gets_search_and_enrich_monitoring_and_a_replication_only_key_replication(security_es):
    search = security_es.security.create_cross_cluster_api_key(name="s", access={"search": [{"names": ["*"]}]})
    replication = security_es.security.create_cross_cluster_api_key(
        name="r", access={"replication": [{"names": ["*"]}]}
    )
    got = {k["name"]: k for k in security_es.security.get_api_key(owner=True)["api_keys"]}
    assert got["s"]["role_descriptors"]["cross_cluster"]["cluster"] == ["cross_cluster_search", "monitor_enrich"]
    assert got["r"]["role_descriptors"]["cross_cluster"]["cluster"] == ["cross_cluster_replication"]
    assert {search["id"], replication["id"]} == {k["id"] for k in got.values()}


def test_updating_replaces_access_and_metadata_and_says_whether_anything_changed(security_es):
    created = security_es.security.create_cross_cluster_api_key(
        name="cc", access={"search": [{"names": ["logs*"]}]}, metadata={"tag": "dev"}
    )
    new_access = {"replication": [{"names": ["archive"]}]}
    update = security_es.security.update_cross_cluster_api_key
    assert update(id=created["id"], access=new_access, metadata={"tag": "prod"}).body == {"updated": True}
    assert update(id=created["id"], access=new_access, metadata={"tag": "prod"}).body == {"updated": False}
    assert update(id=created["id"], body={"metadata": {"tag": "prod"}}).body == {"updated": False}

    (key,) = security_es.security.get_api_key(id=created["id"])["api_keys"]
    assert key["access"] == {"replication": [{"names": ["archive"], "allow_restricted_indices": False}]}
    assert key["role_descriptors"]["cross_cluster"]["cluster"] == ["cross_cluster_replication"]
    assert key["metadata"] == {"tag": "prod"}
    assert AuditEvent.objects.filter(action="update", key_id=created["id"]).count() == 1


BAD_ACCESS = [
    (None, "[access] is required"),
    ({}, "must specify non-empty access for either [search] or [replication]"),
    ({"search": []}, "must specify non-empty access for either [search] or [replication]"),
    ({"search": [{"names": ["*"]}], "delete": []}, "unexpected field [delete] in [access]"),
    ({"search": [{"names": ["*"], "privileges": ["all"]}]}, "unexpected field [privileges] in [access.search[0]]"),
    ({"replication": [{"names": ["*"], "query": {"match_all": {}}}]}, "replication does not support document or"),
    ({"replication": [{"names": ["*"], "field_security": {"grant": ["a"]}}]}, "replication does not support"),
    ({"search": [{"query": {"match_all": {}}}]}, "[access.search[0]] requires [names]"),
    ({"search": [{"names": []}]}, "[names] must be a string or a non-empty array of strings"),
    ({"search": {"names": ["*"]}}, "[access.search]"),
    ({"search": [{"names": ["*"], "query": "not json"}]}, "[query] must be a JSON object"),
    ({"search": [{"names": ["*"], "allow_restricted_indices": "yes"}]}, "[access.search[0].allow_restricted_indices]"),
]


@pytest.mark.parametrize(("access", "reason"), BAD_ACCESS)
def test_bad_access_is_refused_and_nothing_is_written(security_es, access, reason):
    body = {"name": "cc"} if access is None else {"name": "cc", "access": access}
    with pytest.raises(BadRequestError) as caught:
        security_es.security.create_cross_cluster_api_key(body=body)
    assert reason in caught.value.body["error"]["reason"]
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(("access", "reason"), [a for a in BAD_ACCESS if a[0] is not None])
def test_a_bad_update_changes_nothing(security_es, access, reason):
    created = security_es.security.create_cross_cluster_api_key(name="cc", access={"search": [{"names": ["a"]}]})
    with pytest.raises(BadRequestError) as caught:
        security_es.security.update_cross_cluster_api_key(id=created["id"], access=access, metadata={"changed": True})
    assert reason in caught.value.body["error"]["reason"]
    key = ApiKey.objects.get()
    assert key.metadata == {} and key.access == {"search": [{"names": ["a"], "allow_restricted_indices": False}]}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"name": "cc", "access": {"search": [{"names": ["*"]}]}, "role_descriptors": {}}, "unknown field"),
        ({"access": {"search": [{"names": ["*"]}]}}, "api key name is required"),
        ({"name": "_cc", "access": {"search": [{"names": ["*"]}]}}, "may not begin with an underscore"),
        ({"name": "cc", "access": {"search": [{"names": ["*"]}]}, "expiration": "soon"}, "expiration"),
        ({"name": "cc", "access": {"search": [{"names": ["*"]}]}, "metadata": {"_x": 1}}, "may not start with [_]"),
    ],
)
def test_other_bad_create_fields_are_refused(security_es, body, reason):
    with pytest.raises(BadRequestError) as caught:
        security_es.security.create_cross_cluster_api_key(body=body)
    assert reason in caught.value.body["error"]["reason"]
    assert not ApiKey.objects.exists()


def test_malformed_json_and_an_empty_update_are_400s(security_es):
    created = security_es.security.create_cross_cluster_api_key(name="cc", access={"search": [{"names": ["a"]}]})
    with pytest.raises(BadRequestError) as caught:
        security_es.perform_request(
            "POST", "/_security/cross_cluster/api_key", headers={"content-type": "application/json"}, body='{"name":'
        )
    assert caught.value.body["error"]["type"] == "x_content_parse_exception"
    with pytest.raises(BadRequestError) as caught:
        security_es.security.update_cross_cluster_api_key(id=created["id"], body={})
    assert caught.value.body["error"]["reason"] == (
        "Validation Failed: 1: must update  [access] or [metadata] or [certificate_identity] for cross-cluster API keys;"
    )
    with pytest.raises(BadRequestError):
        security_es.security.update_cross_cluster_api_key(id=created["id"], body={"name": "renamed"})
    assert ApiKey.objects.count() == 1


def test_only_manage_security_creates_and_updates_them(security_es, alice_es, es_url, manager):
    with pytest.raises(AuthorizationException) as caught:
        alice_es.security.create_cross_cluster_api_key(name="cc", access={"search": [{"names": ["*"]}]})
    assert "cluster:admin/xpack/security/cross_cluster/api_key/create" in caught.value.body["error"]["reason"]
    created = security_es.security.create_cross_cluster_api_key(name="cc", access={"search": [{"names": ["*"]}]})
    with pytest.raises(AuthorizationException) as caught:
        es_as(es_url, "manager").security.update_cross_cluster_api_key(id=created["id"], body={"metadata": {"x": 1}})
    assert "cluster:admin/xpack/security/cross_cluster/api_key/update" in caught.value.body["error"]["reason"]
    assert ApiKey.objects.get().metadata == {}


def test_an_api_key_cannot_create_or_update_them(admin_es, es_url):
    key = admin_es.security.create_api_key(name="all-powerful")
    as_key = Elasticsearch(es_url, api_key=key["encoded"])
    with pytest.raises(BadRequestError) as caught:
        as_key.security.create_cross_cluster_api_key(name="cc", access={"search": [{"names": ["*"]}]})
    assert "An API key cannot be used to create a cross-cluster API key" in caught.value.body["error"]["reason"]
    created = admin_es.security.create_cross_cluster_api_key(name="cc", access={"search": [{"names": ["*"]}]})
    with pytest.raises(BadRequestError) as caught:
        as_key.security.update_cross_cluster_api_key(id=created["id"], body={"metadata": {"x": 1}})
    assert "only the owner user can update an API key" in caught.value.body["error"]["reason"]


def test_the_rest_and_cross_cluster_update_apis_refuse_each_others_keys(admin_es):
    rest = admin_es.security.create_api_key(name="rest")
    cc = admin_es.security.create_cross_cluster_api_key(name="cc", access={"search": [{"names": ["*"]}]})
    with pytest.raises(BadRequestError) as caught:
        admin_es.security.update_api_key(id=cc["id"], metadata={"x": 1})
    assert caught.value.body["error"]["reason"] == (
        "cannot update API key of type [cross_cluster] while expected type is [rest]"
    )
    with pytest.raises(BadRequestError) as caught:
        admin_es.security.update_cross_cluster_api_key(id=rest["id"], body={"metadata": {"x": 1}})
    assert caught.value.body["error"]["reason"] == (
        "cannot update API key of type [rest] while expected type is [cross_cluster]"
    )
    bulk = admin_es.security.bulk_update_api_keys(ids=[rest["id"], cc["id"]], metadata={"x": 1})
    assert bulk["updated"] == [rest["id"]]
    assert bulk["errors"]["details"][cc["id"]]["reason"] == (
        "cannot update API key of type [cross_cluster] while expected type is [rest]"
    )
    assert ApiKey.objects.get(pk=cc["id"]).metadata == {}


def test_someone_elses_key_is_not_found(security_es, admin_es):
    created = admin_es.security.create_cross_cluster_api_key(name="cc", access={"search": [{"names": ["*"]}]})
    with pytest.raises(NotFoundError):
        security_es.security.update_cross_cluster_api_key(id=created["id"], body={"metadata": {"x": 1}})


def test_manage_api_key_cannot_invalidate_them_but_manage_security_can(security_es, es_url, manager):
    cc = security_es.security.create_cross_cluster_api_key(name="cc", access={"search": [{"names": ["*"]}]})
    rest = security_es.security.create_api_key(name="rest")
    answer = es_as(es_url, "manager").security.invalidate_api_key(ids=[cc["id"], rest["id"]])
    assert answer["invalidated_api_keys"] == [rest["id"]]
    assert answer["error_count"] == 1
    assert answer["error_details"] == [
        {
            "type": "security_exception",
            "reason": f"Cannot invalidate cross-cluster API key [{cc['id']}]. "
            "This requires [manage_security] cluster privilege or higher",
        }
    ]
    assert not ApiKey.objects.get(pk=cc["id"]).invalidated
    answer = security_es.security.invalidate_api_key(ids=[cc["id"]])
    assert answer.body == {"invalidated_api_keys": [cc["id"]], "previously_invalidated_api_keys": [], "error_count": 0}


def test_type_is_queryable_and_aggregatable(admin_es):
    admin_es.security.create_api_key(name="rest-1")
    admin_es.security.create_api_key(name="rest-2")
    cc = admin_es.security.create_cross_cluster_api_key(name="cc", access={"search": [{"names": ["*"]}]})
    found = admin_es.security.query_api_keys(query={"term": {"type": "cross_cluster"}})
    assert [k["id"] for k in found["api_keys"]] == [cc["id"]]
    assert found["api_keys"][0]["access"] == {"search": [{"names": ["*"], "allow_restricted_indices": False}]}
    answer = admin_es.security.query_api_keys(size=0, aggs={"types": {"terms": {"field": "type"}}})
    buckets = {b["key"]: b["doc_count"] for b in answer["aggregations"]["types"]["buckets"]}
    assert buckets == {"rest": 2, "cross_cluster": 1}
