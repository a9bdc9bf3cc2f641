"""The official `elasticsearch` Python client, unchanged, against a live server."""

from __future__ import annotations

import pytest
from elasticsearch import AuthenticationException, BadRequestError, Elasticsearch, NotFoundError

from apikeys.domain import keys
from apikeys.domain.durations import epoch_millis, now_ms
from apikeys.models import ApiKey, Role, User
from tests.conftest import PASSWORD

API_KEY_FIELDS = [
    "id",
    "name",
    "type",
    "creation",
    "invalidated",
    "username",
    "realm",
    "realm_type",
    "metadata",
    "role_descriptors",
]
BOOKS = {"books-read-only": {"cluster": [], "indices": [{"names": ["books"], "privileges": ["read"]}]}}


def assert_api_key_object(key: dict) -> None:
    present = [f for f in key if f in API_KEY_FIELDS]
    assert present == API_KEY_FIELDS, "fields in Elasticsearch's order"
    assert key["type"] == "rest"
    assert isinstance(key["creation"], int)


def assert_created(answer) -> None:
    assert list(answer.body) in (
        ["id", "name", "api_key", "encoded"],
        ["id", "name", "expiration", "api_key", "encoded"],
    )
    assert len(answer["id"]) == 20 and keys.SECRET_PATTERN.fullmatch(answer["api_key"])
    assert keys.ENCODED_PATTERN.fullmatch(answer["encoded"])
    assert answer.meta.headers["x-elastic-product"] == "Elasticsearch"


def test_put_role_and_put_user_then_the_user_authenticates(admin_es, es_url):
    answer = admin_es.security.put_role(
        name="books_reader", cluster=["manage_own_api_key"], indices=[{"names": ["books"], "privileges": ["read"]}]
    )
    assert answer.body == {"role": {"created": True}}
    assert admin_es.security.put_role(name="books_reader", cluster=["manage_own_api_key"]).body == {
        "role": {"created": False}
    }
    role = admin_es.security.get_role(name="books_reader")["books_reader"]
    assert (
        role["cluster"] == ["manage_own_api_key"]
        and role["indices"] == []
        and role["transient_metadata"] == {"enabled": True}
    )
    answer = admin_es.security.put_user(
        username="dana",
        password="dana-password",
        roles=["books_reader"],
        full_name="Dana",
        email="dana@example.com",
        metadata={"team": "x"},
    )
    assert answer.body == {"created": True}
    assert admin_es.security.get_user(username="dana")["dana"] == {
        "username": "dana",
        "roles": ["books_reader"],
        "full_name": "Dana",
        "email": "dana@example.com",
        "metadata": {"team": "x"},
        "enabled": True,
    }
    me = Elasticsearch(es_url, basic_auth=("dana", "dana-password")).security.authenticate()
    assert me["username"] == "dana" and me["roles"] == ["books_reader"] and me["authentication_type"] == "realm"
    assert me["authentication_realm"] == {"name": "default_native", "type": "native"}
    assert admin_es.security.delete_user(username="dana").body == {"found": True}
    assert admin_es.security.delete_role(name="books_reader").body == {"found": True}
    with pytest.raises(NotFoundError):
        admin_es.security.delete_role(name="books_reader")
    assert not User.objects.filter(username="dana").exists() and not Role.objects.exists()


def test_create_with_put_and_post_then_authenticate_with_both_api_key_forms(alice_es, es_url):
    created = alice_es.security.create_api_key(
        name="cron", expiration="1d", role_descriptors=BOOKS, metadata={"env": "prod"}
    )
    assert_created(created)
    assert isinstance(created["expiration"], int)
    posted = alice_es.perform_request(
        "POST",
        "/_security/api_key",
        body={"name": "posted"},
        headers={"content-type": "application/json", "accept": "application/json"},
    )
    assert_created(posted)
    for credential in (created["encoded"], (created["id"], created["api_key"])):
        me = Elasticsearch(es_url, api_key=credential).security.authenticate()
        assert me["username"] == "alice" and me["roles"] == []
        assert me["authentication_type"] == "api_key"
        assert me["authentication_realm"] == {"name": "_es_api_key", "type": "_es_api_key"}
        assert me["api_key"] == {"id": created["id"], "name": "cron", "managed_by": "elasticsearch"}
    assert ApiKey.objects.filter(owner__username="alice").count() == 2


def test_get_api_key_with_every_parameter(alice_es, admin_es, bob):
    a1 = alice_es.security.create_api_key(name="app-one")
    a2 = alice_es.security.create_api_key(name="app-two", metadata={"x": 1})
    admin_es.security.invalidate_api_key(ids=[a2["id"]])
    bobs_es = Elasticsearch(alice_es.transport.node_pool.get().base_url, basic_auth=("bob", PASSWORD))
    bobs_es.security.create_api_key(name="bobs")

    one = admin_es.security.get_api_key(id=a1["id"])["api_keys"]
    assert [k["id"] for k in one] == [a1["id"]]
    assert_api_key_object(one[0])
    assert "limited_by" not in one[0]
    assert {k["name"] for k in admin_es.security.get_api_key(name="app-*")["api_keys"]} == {"app-one", "app-two"}
    assert [k["name"] for k in admin_es.security.get_api_key(name="app-one")["api_keys"]] == ["app-one"]
    assert len(admin_es.security.get_api_key(name="*")["api_keys"]) == 3
    assert {k["name"] for k in admin_es.security.get_api_key(username="alice")["api_keys"]} == {"app-one", "app-two"}
    assert len(admin_es.security.get_api_key(realm_name="default_native")["api_keys"]) == 3
    assert admin_es.security.get_api_key(owner=True)["api_keys"] == []
    assert {k["name"] for k in alice_es.security.get_api_key(owner=True)["api_keys"]} == {"app-one", "app-two"}
    assert {k["name"] for k in admin_es.security.get_api_key(active_only=True)["api_keys"]} == {"app-one", "bobs"}
    limited = admin_es.security.get_api_key(id=a1["id"], with_limited_by=True)["api_keys"][0]["limited_by"]
    assert list(limited[0]) == ["own_keys"]
    invalidated = admin_es.security.get_api_key(id=a2["id"], with_profile_uid=True)["api_keys"][0]
    assert invalidated["invalidated"] is True and isinstance(invalidated["invalidation"], int)
    with pytest.raises(NotFoundError) as missing:
        admin_es.security.get_api_key(id="no-such-key")
    assert missing.value.body == {"api_keys": []}


@pytest.fixture
def estate(alice_es, bob):
    """Six keys of two owners with metadata, one expired and one invalidated."""
    names = ["web-1", "web-2", "db_main", "db%old", "Batch", "ci"]
    made = {}
    for i, name in enumerate(names):
        made[name] = alice_es.security.create_api_key(
            name=name, metadata={"env": "prod" if i % 2 else "dev", "tier": i}
        )
    ApiKey.objects.filter(name="ci").update(owner=bob, username="bob")
    from django.utils import timezone

    ApiKey.objects.filter(name="Batch").update(expiration=timezone.now())
    alice_es.security.invalidate_api_key(ids=[made["db%old"]["id"]], owner=True)
    return made


def names(answer) -> list[str]:
    return [k["name"] for k in answer["api_keys"]]


def test_query_api_keys_with_every_clause(admin_es, estate):
    q = admin_es.security.query_api_keys
    assert sorted(names(q(query={"match_all": {}}, size=100))) == sorted(estate)
    assert names(q(query={"ids": {"values": [estate["ci"]["id"]]}})) == ["ci"]
    assert sorted(names(q(query={"term": {"metadata.env": "prod"}}))) == sorted(["web-2", "db%old", "ci"])
    assert sorted(names(q(query={"terms": {"name": ["web-1", "ci", "nope"]}}))) == ["ci", "web-1"]
    assert sorted(names(q(query={"prefix": {"name": "web-"}}))) == ["web-1", "web-2"]
    assert names(q(query={"prefix": {"name": "db%"}})) == ["db%old"]
    assert names(q(query={"prefix": {"name": {"value": "batch", "case_insensitive": True}}})) == ["Batch"]
    assert sorted(names(q(query={"wildcard": {"name": "db?*"}}))) == ["db%old", "db_main"]
    assert names(q(query={"wildcard": {"name": "db_*"}})) == ["db_main"]
    assert names(q(query={"match": {"username": "bob"}})) == ["ci"]
    assert len(names(q(query={"range": {"creation": {"gte": "now-1h", "lte": "now"}}}, size=100))) == 6
    assert names(q(query={"exists": {"field": "expiration"}})) == ["Batch"]
    assert names(q(query={"term": {"invalidated": True}})) == ["db%old"]
    assert names(q(query={"exists": {"field": "invalidation"}})) == ["db%old"]
    assert sorted(names(q(query={"simple_query_string": {"query": "web* ci"}}))) == ["ci", "web-1", "web-2"]
    assert names(q(query={"simple_query_string": {"query": "bob", "fields": ["username"]}})) == ["ci"]
    boolean = {
        "bool": {
            "must": [{"prefix": {"name": "web"}}],
            "filter": [{"term": {"username": "alice"}}],
            "must_not": [{"term": {"name": "web-2"}}],
            "should": [{"term": {"metadata.env": "dev"}}, {"term": {"name": "zzz"}}],
            "minimum_should_match": 1,
        }
    }
    assert names(q(query=boolean)) == ["web-1"]


def test_query_api_keys_sorts_pages_and_reports_totals(admin_es, estate):
    answer = admin_es.security.query_api_keys(query={"match_all": {}}, sort=[{"name": {"order": "desc"}}], size=2)
    assert answer["total"] == 6 and answer["count"] == 2
    assert names(answer) == ["web-2", "web-1"]
    assert answer["api_keys"][0]["_sort"][0] == "web-2"
    assert_api_key_object(answer["api_keys"][0])
    seen = names(answer)
    while True:
        answer = admin_es.security.query_api_keys(
            sort=[{"name": {"order": "desc"}}], size=2, search_after=answer["api_keys"][-1]["_sort"]
        )
        if not answer["api_keys"]:
            break
        seen += names(answer)
    assert seen == sorted(estate, reverse=True)
    assert names(admin_es.security.query_api_keys(sort=["name"], from_=4, size=10)) == sorted(estate)[4:]
    by_creation = admin_es.security.query_api_keys(sort=[{"creation": "asc"}], size=10)
    assert [k["_sort"][0] for k in by_creation["api_keys"]] == sorted(k["creation"] for k in by_creation["api_keys"])
    with_limited = admin_es.security.query_api_keys(with_limited_by=True, size=1)
    assert "limited_by" in with_limited["api_keys"][0]


def test_query_api_keys_aggregations_of_each_kind(admin_es, estate):
    aggs = {
        "owners": {"terms": {"field": "username"}},
        "ages": {"range": {"field": "creation", "ranges": [{"to": 0}, {"from": 0}]}},
        "recent": {"date_range": {"field": "creation", "ranges": [{"from": "now-1d"}]}},
        "no_expiry": {"missing": {"field": "expiration"}},
        "distinct_envs": {"cardinality": {"field": "metadata.env"}},
        "with_env": {"value_count": {"field": "metadata.env"}},
        "invalid": {"filter": {"term": {"invalidated": True}}},
        "by_kind": {"filters": {"filters": {"web": {"prefix": {"name": "web"}}, "db": {"prefix": {"name": "db"}}}}},
        "pairs": {
            "composite": {
                "sources": [{"user": {"terms": {"field": "username"}}}, {"env": {"terms": {"field": "metadata.env"}}}],
                "size": 2,
            }
        },
    }
    answer = admin_es.security.query_api_keys(size=0, aggs=aggs)
    assert answer["api_keys"] == [] and answer["total"] == 6
    result = answer["aggregations"]
    assert result["owners"]["buckets"] == [{"key": "alice", "doc_count": 5}, {"key": "bob", "doc_count": 1}]
    assert [b["doc_count"] for b in result["ages"]["buckets"]] == [0, 6]
    assert result["recent"]["buckets"][0]["doc_count"] == 6
    assert result["no_expiry"] == {"doc_count": 5}
    assert result["distinct_envs"] == {"value": 2}
    assert result["with_env"] == {"value": 6}
    assert result["invalid"] == {"doc_count": 1}
    assert result["by_kind"]["buckets"] == {"web": {"doc_count": 2}, "db": {"doc_count": 2}}
    pairs = result["pairs"]
    assert [b["key"] for b in pairs["buckets"]] == [{"user": "alice", "env": "dev"}, {"user": "alice", "env": "prod"}]
    after = admin_es.security.query_api_keys(
        size=0, aggs={"pairs": {"composite": {**aggs["pairs"]["composite"], "after": pairs["after_key"]}}}
    )
    assert [b["key"] for b in after["aggregations"]["pairs"]["buckets"]] == [{"user": "bob", "env": "prod"}]
    typed = admin_es.security.query_api_keys(
        size=0, aggregations={"owners": {"terms": {"field": "username"}}}, typed_keys=True
    )
    assert list(typed["aggregations"]) == ["sterms#owners"]


def test_update_api_key_reports_updated_then_not(alice_es):
    created = alice_es.security.create_api_key(name="u", metadata={"v": 1})
    assert alice_es.security.update_api_key(id=created["id"], metadata={"v": 2}, role_descriptors=BOOKS).body == {
        "updated": True
    }
    assert alice_es.security.update_api_key(id=created["id"], metadata={"v": 2}, role_descriptors=BOOKS).body == {
        "updated": False
    }
    assert alice_es.security.update_api_key(id=created["id"]).body == {"updated": False}
    assert alice_es.security.update_api_key(id=created["id"], expiration="2d").body == {"updated": True}
    stored = alice_es.security.get_api_key(id=created["id"], owner=True)["api_keys"][0]
    assert (
        stored["metadata"] == {"v": 2}
        and list(stored["role_descriptors"]) == ["books-read-only"]
        and "expiration" in stored
    )
    assert alice_es.security.update_api_key(id=created["id"], role_descriptors={}).body == {"updated": True}
    assert ApiKey.objects.get(pk=created["id"]).role_descriptors == {}


def test_bulk_update_api_keys(alice_es):
    first = alice_es.security.create_api_key(name="b1", metadata={"v": 1})
    second = alice_es.security.create_api_key(name="b2", metadata={"v": 2})
    answer = alice_es.security.bulk_update_api_keys(ids=[first["id"], second["id"], "missing"], metadata={"v": 2})
    assert answer["updated"] == [first["id"]] and answer["noops"] == [second["id"]]
    assert answer["errors"]["count"] == 1
    assert answer["errors"]["details"]["missing"]["type"] == "resource_not_found_exception"
    assert ApiKey.objects.get(pk=first["id"]).metadata == {"v": 2}


def test_update_and_bulk_update_set_an_expiration_and_a_bad_one_changes_nothing(alice_es):
    first = alice_es.security.create_api_key(name="e1")["id"]
    second = alice_es.security.create_api_key(name="e2", expiration="1d")["id"]
    before = epoch_millis(now_ms())

    answer = alice_es.security.bulk_update_api_keys(ids=[first, second], expiration="2d")

    assert answer.body == {"updated": [first, second], "noops": []}
    two_days = 2 * 86_400_000
    for key in alice_es.security.get_api_key(owner=True)["api_keys"]:
        assert before + two_days <= key["expiration"] <= epoch_millis(now_ms()) + two_days
    kept = {key.id: key.expiration for key in ApiKey.objects.all()}
    with pytest.raises(BadRequestError) as caught:
        alice_es.security.bulk_update_api_keys(ids=[first, second], expiration="soon")
    assert "failed to parse setting [expiration] with value [soon]" in caught.value.body["error"]["reason"]
    with pytest.raises(BadRequestError):
        alice_es.security.update_api_key(id=first, expiration="1.5d")
    assert {key.id: key.expiration for key in ApiKey.objects.all()} == kept


def test_invalidate_api_key_with_every_selector(alice_es, admin_es, bob):
    def make(name):
        return alice_es.security.create_api_key(name=name)["id"]

    by_id, by_ids, by_name, by_prefix_1, by_prefix_2 = (
        make("i"),
        make("ii"),
        make("named"),
        make("pre-1"),
        make("pre-2"),
    )
    assert admin_es.security.invalidate_api_key(id=by_id)["invalidated_api_keys"] == [by_id]
    again = admin_es.security.invalidate_api_key(ids=[by_id, by_ids])
    assert again["invalidated_api_keys"] == [by_ids] and again["previously_invalidated_api_keys"] == [by_id]
    assert again["error_count"] == 0
    assert admin_es.security.invalidate_api_key(name="named")["invalidated_api_keys"] == [by_name]
    assert sorted(admin_es.security.invalidate_api_key(name="pre-*")["invalidated_api_keys"]) == sorted(
        [by_prefix_1, by_prefix_2]
    )
    rest = make("rest")
    assert alice_es.security.invalidate_api_key(owner=True)["invalidated_api_keys"] == [rest]
    other = make("other")
    assert admin_es.security.invalidate_api_key(username="alice")["invalidated_api_keys"] == [other]
    last = make("last")
    assert admin_es.security.invalidate_api_key(realm_name="default_native")["invalidated_api_keys"] == [last]
    assert not ApiKey.objects.filter(invalidated=False).exists()
    with pytest.raises(BadRequestError):
        admin_es.security.invalidate_api_key()


def test_grant_api_key(admin_es, es_url, alice):
    answer = admin_es.security.grant_api_key(
        grant_type="password",
        username="alice",
        password=PASSWORD,
        api_key={"name": "granted", "expiration": "1h", "metadata": {"by": "admin"}},
    )
    assert_created(answer)
    key = ApiKey.objects.get(pk=answer["id"])
    assert key.owner == alice and key.metadata == {"by": "admin"} and list(key.limited_by) == ["own_keys"]
    assert Elasticsearch(es_url, api_key=answer["encoded"]).security.authenticate()["username"] == "alice"


def test_has_privileges_for_a_user_and_a_key(alice_es, es_url):
    answer = alice_es.security.has_privileges(
        cluster=["manage_own_api_key", "monitor"], index=[{"names": ["books"], "privileges": ["read", "write"]}]
    )
    assert answer.body == {
        "username": "alice",
        "has_all_requested": False,
        "cluster": {"manage_own_api_key": True, "monitor": False},
        "index": {"books": {"read": True, "write": False}},
        "application": {},
    }
    created = alice_es.security.create_api_key(name="k", role_descriptors=BOOKS)
    key_answer = Elasticsearch(es_url, api_key=created["encoded"]).security.has_privileges(
        cluster=["manage_own_api_key"], index=[{"names": ["books"], "privileges": ["read"]}]
    )
    assert key_answer["cluster"] == {"manage_own_api_key": False}
    assert key_answer["index"] == {"books": {"read": True}}


def test_clear_api_key_cache(admin_es, alice_es):
    created = alice_es.security.create_api_key(name="c")
    answer = admin_es.security.clear_api_key_cache(ids=created["id"])
    assert answer["_nodes"] == {"total": 1, "successful": 1, "failed": 0} and "cluster_name" in answer


def test_the_client_sees_401_for_a_bad_key(es_url, alice):
    with pytest.raises(AuthenticationException) as error:
        Elasticsearch(es_url, api_key=("nope", "nope")).security.authenticate()
    assert error.value.meta.status == 401
    assert error.value.body["error"]["type"] == "security_exception"
