"""`apikeys.query.search` checked against `tests/reference_query.py` over a few dozen varied keys."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apikeys.models import NATIVE_REALM, ApiKey, User
from apikeys.query import MAX_CLAUSE_COUNT, QueryError, search, sort_values
from tests.reference_query import field_value, has_any_leaf, matches, sort_keys


def _millis(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


NOW = _millis(datetime.now(UTC))


def key_id(index: int) -> str:
    """A 20-character id whose order has nothing to do with the row's place in ROWS."""
    return base64.urlsafe_b64encode(hashlib.sha256(str(index).encode()).digest()[:15]).decode()


# name, owner, type, realm, created (days ago), expires (days from NOW), invalidated (days ago), metadata
ROWS: list[tuple[str, str, str, str, float, float | None, float | None, dict[str, Any]]] = [
    ("alpha", "alice", "rest", NATIVE_REALM, 30.5, None, None, {"team": "search", "tier": 1}),
    ("Alpha", "alice", "rest", NATIVE_REALM, 29.25, 10, None, {"team": "Search"}),
    ("ALPHA-2", "bob", "rest", NATIVE_REALM, 28.0, -1, None, {}),
    ("alpha beta", "alice", "rest", NATIVE_REALM, 27.125, None, 2.5, {"team": "ops", "tier": 10}),
    ("alphabet", "bob", "cross_cluster", NATIVE_REALM, 26.0, 5, None, {"tier": 2}),
    ("beta", "alice", "rest", NATIVE_REALM, 25.5, -3, 1.0, {"tier": 1.5}),
    ("beta_1", "bob", "rest", NATIVE_REALM, 24.0, 40, None, {"managed": True}),
    ("betaX1", "bob", "rest", NATIVE_REALM, 23.75, 40, None, {"managed": False}),
    ("beta%1", "alice", "rest", NATIVE_REALM, 23.0, None, None, {"tier": "1"}),
    ("beta-1", "alice", "rest", "file", 22.5, 3, None, {"team": "ops", "deprecated": None}),
    ("100% pure", "bob", "rest", NATIVE_REALM, 21.0, None, 0.5, {"note": "50% off_sale"}),
    ("100X pure", "bob", "rest", NATIVE_REALM, 20.5, None, None, {"note": "50X offXsale"}),
    ("under_score", "alice", "cross_cluster", NATIVE_REALM, 20.0, -10, None, {"env": {"region": "eu-west", "zone": 3}}),
    ("underXscore", "alice", "rest", NATIVE_REALM, 19.0, -10, None, {"env": {"region": "us-east"}}),
    ("under-score", "bob", "rest", NATIVE_REALM, 18.5, None, None, {"env": "flat"}),
    ("star*name", "alice", "rest", NATIVE_REALM, 18.0, 7, None, {"env": {"region": "eu-north"}}),
    ("starXname", "alice", "rest", NATIVE_REALM, 17.0, 7, None, {}),
    ("question?mark", "bob", "rest", NATIVE_REALM, 16.5, None, None, {"team": "data platform"}),
    ("questionXmark", "bob", "rest", NATIVE_REALM, 16.0, None, 3.0, {}),
    ("back\\slash", "alice", "rest", NATIVE_REALM, 15.0, 2, None, {"a-b": "dash"}),
    ("backslash", "alice", "rest", NATIVE_REALM, 14.5, 2, None, {}),
    ("back\\\\slash", "bob", "rest", NATIVE_REALM, 14.0, -2, 4.0, {}),
    ("Ünïcode Key", "alice", "rest", NATIVE_REALM, 13.0, None, None, {"team": "Ünïcode"}),
    ("ünïcode key", "bob", "rest", NATIVE_REALM, 12.5, None, None, {"team": "ünïcode"}),
    ("日本語キー", "alice", "rest", NATIVE_REALM, 12.0, 30, None, {"team": "日本"}),
    ("emoji 🔑 key", "bob", "cross_cluster", NATIVE_REALM, 11.0, 30, None, {}),
    ("ci-deploy", "alice", "rest", "_service_account", 10.5, None, None, {"managed": True, "team": "ops"}),
    ("ci-test", "alice", "rest", "_service_account", 10.0, None, None, {"managed": True}),
    ("CI-Deploy", "bob", "rest", NATIVE_REALM, 9.5, 1, None, {"team": "search"}),
    ("ci deploy", "bob", "rest", NATIVE_REALM, 9.0, None, None, {}),
    ("prod-reader", "alice", "rest", NATIVE_REALM, 8.0, 60, None, {"team": "search", "tier": 3}),
    ("prod-writer", "alice", "rest", NATIVE_REALM, 7.5, 60, 0.25, {"team": "search", "tier": 3}),
    ("staging-reader", "bob", "rest", "file", 6.0, -0.5, None, {"team": "ops"}),
    ("same", "alice", "rest", NATIVE_REALM, 5.0, 15, None, {"team": "ops"}),
    ("same", "bob", "rest", NATIVE_REALM, 5.0, 15, None, {"team": "ops"}),
    ("same", "alice", "cross_cluster", NATIVE_REALM, 5.0, None, None, {}),
    ("[bracket]", "bob", "rest", NATIVE_REALM, 4.0, None, None, {}),
    ("caret^", "bob", "rest", NATIVE_REALM, 3.5, None, None, {}),
    ("a", "alice", "rest", NATIVE_REALM, 2.0, 0.75, None, {"tier": 20}),
    ("z last", "bob", "rest", NATIVE_REALM, 1.0, None, 0.1, {"team": "search"}),
    ("fresh", "alice", "rest", NATIVE_REALM, 0.2, 90, None, {"team": "search", "managed": False}),
    ("fresh", "bob", "rest", NATIVE_REALM, 0.1, None, None, {"tier": 1}),
]


def as_reference(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "type": key.type,
        "username": key.username,
        "realm_name": key.realm,
        "creation": key.creation,
        "expiration": key.expiration,
        "invalidated": key.invalidated,
        "invalidation": key.invalidation,
        "metadata": key.metadata,
    }


@pytest.fixture
def keys(alice: User, bob: User) -> list[dict[str, Any]]:
    owners = {"alice": alice, "bob": bob}
    for index, (name, owner, kind, realm, created, expires, invalidated, metadata) in enumerate(ROWS):
        ApiKey.objects.create(
            id=key_id(index),
            name=name,
            type=kind,
            owner=owners[owner],
            username=owner,
            realm=realm,
            creation=_millis(NOW - timedelta(days=created)),
            expiration=None if expires is None else _millis(NOW + timedelta(days=expires)),
            invalidated=invalidated is not None,
            invalidation=None if invalidated is None else _millis(NOW - timedelta(days=invalidated)),
            hash="{SSHA256}unused",
            metadata=metadata,
        )
    return [as_reference(k) for k in ApiKey.objects.all()]


def run(body: dict[str, Any]):
    return search(ApiKey.objects.all(), {"size": 1000, **body})


def found_ids(query: dict[str, Any] | None) -> list[str]:
    return [k.id for k in run({"query": query}).keys]


def expected_ids(keys: list[dict[str, Any]], query: dict[str, Any] | None) -> set[str]:
    return {k["id"] for k in keys if matches(query, k)}


def reference_order(keys: list[dict[str, Any]], sort: list[tuple[str, str]]) -> list[str]:
    return [k["id"] for k in sort_keys(keys, sort)]


def iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_ms(days_ago: float) -> int:
    return int((NOW - timedelta(days=days_ago)).timestamp() * 1000)


# --- Queries against the reference ------------------------------------------------------------------------

QUERIES: dict[str, list[dict[str, Any]]] = {
    "match_all and ids": [
        {"match_all": {}},
        {"ids": {"values": [key_id(0), key_id(7), key_id(41), "no-such-id"]}},
    ],
    "term on keyword fields": [
        {"term": {"name": "alpha"}},
        {"term": {"name": {"value": "ALPHA"}}},
        {"term": {"name": "back\\slash"}},
        {"term": {"type": "cross_cluster"}},
        {"term": {"username": "bob"}},
        {"term": {"realm_name": "_service_account"}},
    ],
    "term with case_insensitive": [
        {"term": {"name": {"value": "ALPHA", "case_insensitive": True}}},
        {"term": {"name": {"value": "ÜNÏCODE KEY", "case_insensitive": True}}},
        {"term": {"name": {"value": "ci-deploy", "case_insensitive": False}}},
        {"term": {"metadata.team": {"value": "SEARCH", "case_insensitive": True}}},
    ],
    "term on dates and booleans": [
        {"term": {"invalidated": True}},
        {"term": {"invalidated": "false"}},
        {"term": {"creation": epoch_ms(5.0)}},
        {"term": {"expiration": iso(-15.0)}},
    ],
    "term on metadata": [
        {"term": {"metadata.team": "search"}},
        {"term": {"metadata.tier": 1}},
        {"term": {"metadata.tier": "1.5"}},
        {"term": {"metadata.managed": True}},
        {"term": {"metadata.managed": "false"}},
        {"term": {"metadata.env.region": "eu-west"}},
        {"term": {"metadata.env.zone": 3}},
        {"term": {"metadata.a-b": "dash"}},
    ],
    "terms": [
        {"terms": {"name": ["alpha", "beta", "nope"]}},
        {"terms": {"metadata.tier": [1, "2", 20]}},
        {"terms": {"realm_name": ["file", "_service_account"]}},
        {"terms": {"name": []}},
        {"terms": {"name": ["alpha", *(f"other-{i}" for i in range(3000))]}},
        {"terms": {"metadata.team": ["ops", *(f"other-{i}" for i in range(3000))]}},
        {"terms": {"metadata.managed": ["true"]}},
        {"terms": {"invalidated": [True]}},
        {"terms": {"expiration": [iso(-15.0), epoch_ms(-10.0)]}},
    ],
    "prefix": [
        {"prefix": {"name": "alpha"}},
        {"prefix": {"name": {"value": "ci-", "case_insensitive": True}}},
        {"prefix": {"name": "beta_"}},
        {"prefix": {"name": "100%"}},
        {"prefix": {"name": "back\\"}},
        {"prefix": {"name": "star*"}},
        {"prefix": {"metadata.env.region": "eu"}},
        {"prefix": {"metadata.tier": "1"}},
        {"prefix": {"metadata.team": {"value": "ü", "case_insensitive": True}}},
    ],
    "wildcard": [
        {"wildcard": {"name": "*reader"}},
        {"wildcard": {"name": "?eta*"}},
        {"wildcard": {"name": "star\\*name"}},
        {"wildcard": {"name": "question\\?mark"}},
        {"wildcard": {"name": "back\\\\slash"}},
        {"wildcard": {"name": "under_score"}},
        {"wildcard": {"name": "[*"}},
        {"wildcard": {"name": "*^"}},
        {"wildcard": {"name": {"value": "CI*", "case_insensitive": True}}},
        {"wildcard": {"name": {"wildcard": "*ünïcode*", "case_insensitive": True}}},
        {"wildcard": {"metadata.note": "*% off_*"}},
        {"wildcard": {"metadata.managed": "t*"}},
    ],
    "match": [
        {"match": {"name": "alpha beta"}},
        {"match": {"name": {"query": "same"}}},
        {"match": {"metadata.team": "ops"}},
    ],
    "range on dates": [
        {"range": {"creation": {"gte": "now-7d"}}},
        {"range": {"creation": {"gt": epoch_ms(20.0), "lte": iso(9.0)}}},
        {"range": {"expiration": {"lt": "now"}}},
        {"range": {"expiration": {"gte": "now-1d/d", "lt": "now+20d"}}},
        {"range": {"invalidation": {"gte": "now-2d"}}},
    ],
    "range on keywords and metadata": [
        {"range": {"name": {"gte": "b", "lt": "c"}}},
        {"range": {"metadata.team": {"gt": "ops"}}},
        {"range": {"metadata.tier": {"gte": "10"}}},
        {"range": {"metadata.tier": {"gte": 2}}},
    ],
    "exists": [
        {"exists": {"field": "expiration"}},
        {"exists": {"field": "invalidation"}},
        {"exists": {"field": "name"}},
        {"exists": {"field": "metadata"}},
        {"exists": {"field": "metadata.team"}},
        {"exists": {"field": "metadata.deprecated"}},
        {"exists": {"field": "metadata.env"}},
    ],
    "bool": [
        {"bool": {"must": [{"term": {"username": "alice"}}], "must_not": [{"term": {"invalidated": True}}]}},
        {"bool": {"filter": {"prefix": {"name": "ci"}}, "should": [{"term": {"metadata.team": "ops"}}]}},
        {"bool": {"should": [{"term": {"metadata.team": "ops"}}, {"prefix": {"name": "alpha"}}]}},
        {"bool": {"must": [], "should": [{"term": {"metadata.team": "search"}}]}},
        {"bool": {"must_not": {"exists": {"field": "expiration"}}, "should": [{"prefix": {"name": "ci"}}]}},
        {
            "bool": {
                "must": {"bool": {"should": [{"term": {"type": "cross_cluster"}}, {"term": {"realm_name": "file"}}]}},
                "must_not": {"bool": {"filter": [{"range": {"expiration": {"lt": "now"}}}]}},
            }
        },
        {"bool": {}},
        {"bool": {"should": {"match_all": {}}}},
        {"bool": {"should": [{"bool": {}}, {"term": {"name": "alpha"}}]}},
        {"bool": {"must_not": {"match_all": {}}}},
        {"bool": {"must_not": {"term": {"metadata.team": "ops"}}}},
        {"bool": {"must_not": [{"prefix": {"metadata.env.region": "eu"}}, {"range": {"metadata.tier": {"lt": "2"}}}]}},
        {"bool": {"must_not": {"wildcard": {"metadata.note": {"value": "50*", "case_insensitive": True}}}}},
    ],
    "bool with minimum_should_match": [
        {
            "bool": {
                "should": [
                    {"term": {"username": "alice"}},
                    {"exists": {"field": "expiration"}},
                    {"term": {"type": "rest"}},
                ],
                "minimum_should_match": 2,
            }
        },
        {
            "bool": {
                "should": [
                    {"term": {"username": "bob"}},
                    {"exists": {"field": "invalidation"}},
                    {"prefix": {"name": "s"}},
                ],
                "minimum_should_match": "-1",
            }
        },
        {
            "bool": {
                "should": [{"term": {"username": "bob"}}, {"exists": {"field": "metadata.tier"}}],
                "minimum_should_match": "50%",
            }
        },
        {
            "bool": {
                "filter": [{"term": {"type": "rest"}}],
                "should": [{"term": {"username": "bob"}}, {"exists": {"field": "metadata.tier"}}],
                "minimum_should_match": 1,
            }
        },
        {"bool": {"should": [{"term": {"username": "bob"}}], "minimum_should_match": 2}},
        {"bool": {"should": [{"term": {"username": "bob"}}], "minimum_should_match": 0}},
    ],
    "simple_query_string": [
        {"simple_query_string": {"query": "alpha"}},
        {"simple_query_string": {"query": "alpha beta same"}},
        {"simple_query_string": {"query": "ci*"}},
        {"simple_query_string": {"query": "+ci* -ci-test"}},
        {"simple_query_string": {"query": '"alpha beta" fresh'}},
        {"simple_query_string": {"query": "-alpha* -beta*"}},
        {"simple_query_string": {"query": "+prod* reader prod-writer"}},
        {"simple_query_string": {"query": "100%*"}},
        {"simple_query_string": {"query": "search ops", "fields": ["metadata.team"]}},
        {"simple_query_string": {"query": "ops ci*", "fields": ["name", "metadata.team"], "default_operator": "and"}},
        {"simple_query_string": {"query": "ops ci*", "fields": ["name", "metadata.team"], "default_operator": "OR"}},
    ],
}
ALL_QUERIES = [q for group in QUERIES.values() for q in group]


@pytest.mark.parametrize("group", QUERIES)
def test_it_selects_exactly_the_keys_the_reference_selects(keys, group):
    for query in QUERIES[group]:
        assert set(found_ids(query)) == expected_ids(keys, query), query


def test_it_counts_the_exact_total(keys):
    for query in ALL_QUERIES:
        assert run({"query": query, "size": 0}).total == len(expected_ids(keys, query)), query


def test_it_matches_every_key_without_a_query(keys):
    assert len(found_ids(None)) == len(ROWS)


def test_it_treats_percent_and_underscore_in_a_prefix_as_themselves(keys):
    names = {
        k.name
        for k in run(
            {"query": {"bool": {"should": [{"prefix": {"name": "beta_"}}, {"prefix": {"name": "100%"}}]}}}
        ).keys
    }
    assert names == {"beta_1", "100% pure"}


def test_it_treats_percent_and_underscore_in_a_wildcard_as_themselves(keys):
    names = {k.name for k in run({"query": {"wildcard": {"metadata.note": "50% off_*"}}}).keys}
    assert names == {"100% pure"}


def test_it_matches_a_prefix_case_sensitively_by_default(keys):
    assert {k.name for k in run({"query": {"prefix": {"name": "CI"}}}).keys} == {"CI-Deploy"}


def test_it_matches_a_prefix_case_insensitively_when_asked(keys):
    query = {"prefix": {"name": {"value": "CI", "case_insensitive": True}}}
    assert {k.name for k in run({"query": query}).keys} == {"CI-Deploy", "ci-deploy", "ci-test", "ci deploy"}


def test_it_compares_metadata_numbers_as_strings(keys):
    query = {"term": {"metadata.tier": "1"}}
    assert {k.metadata["tier"] for k in run({"query": query}).keys} == {1, "1"}


def test_it_orders_metadata_numbers_as_strings_in_a_range(keys):
    query = {"range": {"metadata.tier": {"gte": 2}}}
    assert sorted(k.metadata["tier"] for k in run({"query": query}).keys) == [2, 3, 3, 20]


def test_it_matches_metadata_booleans_as_true_and_false(keys):
    query = {"term": {"metadata.managed": "true"}}
    assert {k.name for k in run({"query": query}).keys} == {"beta_1", "ci-deploy", "ci-test"}


def test_it_sees_no_value_in_a_metadata_null_or_object(keys):
    query = {"bool": {"should": [{"exists": {"field": "metadata.deprecated"}}, {"exists": {"field": "metadata.env"}}]}}
    assert {k.name for k in run({"query": query}).keys} == {"under-score"}


def test_it_does_not_take_a_managed_of_one_for_true(alice):
    key = ApiKey.objects.create(
        id=key_id(99), name="one", owner=alice, username="alice", hash="x", metadata={"managed": 1}
    )
    assert not key.managed
    assert run({"query": {"term": {"metadata.managed": True}}}).keys == []


def test_it_folds_the_case_of_non_ascii_letters_when_asked(keys):
    query = {"term": {"name": {"value": "ÜNÏCODE KEY", "case_insensitive": True}}}
    assert {k.name for k in run({"query": query}).keys} == {"Ünïcode Key", "ünïcode key"}


def test_it_needs_one_should_clause_without_must_or_filter_even_when_the_minimum_is_zero(keys):
    for bool_query in ({"minimum_should_match": 0}, {"must": []}):
        query = {"bool": {"should": [{"term": {"name": "alpha"}}], **bool_query}}
        assert [k.name for k in run({"query": query}).keys] == ["alpha"], bool_query


# --- Errors -----------------------------------------------------------------------------------------------


def test_it_refuses_a_result_window_beyond_ten_thousand(db):
    with pytest.raises(QueryError) as caught:
        search(ApiKey.objects.all(), {"from": 9_995, "size": 6})
    assert caught.value.reason.startswith("Result window is too large")


def test_it_accepts_a_result_window_of_exactly_ten_thousand(keys):
    assert search(ApiKey.objects.all(), {"from": 9_990, "size": 10}).keys == []


def test_it_refuses_search_after_without_a_sort(db):
    with pytest.raises(QueryError) as caught:
        search(ApiKey.objects.all(), {"search_after": [0, "id"]})
    assert caught.value.reason.startswith("[search_after] needs a [sort]")


def test_it_names_an_unknown_query_clause(db):
    with pytest.raises(QueryError) as caught:
        search(ApiKey.objects.all(), {"query": {"fuzzy": {"name": "alpha"}}})
    assert caught.value.reason == "Query type [fuzzy] is not currently supported in this context"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": {"term": {"owner": "alice"}}}, "owner"),
        ({"query": {"exists": {"field": "expiry_notified"}}}, "expiry_notified"),
        ({"query": {"bool": {"must": [{"prefix": {"hash": "x"}}]}}}, "hash"),
        ({"query": {"simple_query_string": {"query": "x", "fields": ["role_descriptors"]}}}, "role_descriptors"),
        ({"sort": ["owner"]}, "owner"),
        ({"aggs": {"a": {"terms": {"field": "limited_by"}}}}, "limited_by"),
    ],
)
def test_it_names_a_field_that_is_not_allowed(db, body, field):
    with pytest.raises(QueryError) as caught:
        search(ApiKey.objects.all(), body)
    assert caught.value.reason == f"Field [{field}] is not allowed for querying or aggregation"


def test_it_allows_id_only_through_ids(db):
    with pytest.raises(QueryError) as caught:
        search(ApiKey.objects.all(), {"query": {"term": {"id": "x"}}})
    assert caught.value.reason == "Field [id] is not allowed for querying or aggregation"


# --- Sort and paging --------------------------------------------------------------------------------------

SORT_FIELDS = [
    "name",
    "type",
    "username",
    "realm_name",
    "creation",
    "expiration",
    "invalidated",
    "invalidation",
    "metadata.team",
    "metadata.tier",
]


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("field", SORT_FIELDS)
def test_it_sorts_like_the_reference_with_ties_broken_by_id(keys, field, order):
    result = run({"sort": [{field: {"order": order}}]})
    assert [k.id for k in result.keys] == reference_order(keys, [(field, order)])


def test_it_sorts_on_several_fields(keys):
    result = run({"sort": ["username", {"expiration": "desc"}, {"name": "asc"}]})
    assert [k.id for k in result.keys] == reference_order(
        keys, [("username", "asc"), ("expiration", "desc"), ("name", "asc")]
    )


def test_it_sorts_by_creation_when_no_sort_is_given(keys):
    assert [k.id for k in run({}).keys] == reference_order(keys, [("creation", "asc")])


def test_it_returns_the_page_that_from_and_size_select(keys):
    result = search(ApiKey.objects.all(), {"sort": ["name"], "from": 5, "size": 7})
    assert [k.id for k in result.keys] == reference_order(keys, [("name", "asc")])[5:12]


def test_it_counts_every_match_whatever_the_page(keys):
    result = search(ApiKey.objects.all(), {"query": {"term": {"username": "bob"}}, "from": 3, "size": 2})
    assert (result.total, len(result.keys)) == (sum(k["username"] == "bob" for k in keys), 2)


def test_it_returns_no_rows_for_size_zero(keys):
    assert search(ApiKey.objects.all(), {"size": 0}).keys == []


def page_with_search_after(sort: list[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    body: dict[str, Any] = {"sort": sort, "size": 7}
    while True:
        result = search(ApiKey.objects.all(), body)
        if not result.keys:
            return seen
        seen += [k.id for k in result.keys]
        body["search_after"] = sort_values(result.keys[-1], result.sort_keys)


@pytest.mark.parametrize(
    ("sort", "reference"),
    [
        ([{"name": "asc"}], [("name", "asc")]),
        ([{"creation": "desc"}], [("creation", "desc")]),
        ([{"expiration": "asc"}], [("expiration", "asc")]),
        ([{"invalidated": "desc"}, {"metadata.team": "asc"}], [("invalidated", "desc"), ("metadata.team", "asc")]),
    ],
    ids=["name", "creation desc", "expiration asc", "invalidated desc then metadata.team"],
)
def test_it_pages_through_every_key_once_in_order_with_search_after(keys, sort, reference):
    assert page_with_search_after(sort) == reference_order(keys, reference)


def test_it_pages_with_search_after_beyond_the_result_window(keys):
    last = sort_keys(keys, [("name", "asc")])[9]
    body = {"sort": ["name"], "size": 10_000, "search_after": [last["name"], last["id"]]}
    assert [k.id for k in search(ApiKey.objects.all(), body).keys] == reference_order(keys, [("name", "asc")])[10:]


# --- Aggregations -----------------------------------------------------------------------------------------


def aggregate(aggs: dict[str, Any], query: dict[str, Any] | None = None) -> dict[str, Any]:
    return search(ApiKey.objects.all(), {"query": query, "size": 0, "aggs": aggs}).aggregations


def counts_by(keys: list[dict[str, Any]], field: str) -> Counter:
    return Counter(field_value(k, field) for k in keys if field_value(k, field) is not None)


@pytest.mark.parametrize("field", ["username", "type", "realm_name", "metadata.team", "metadata.tier"])
def test_it_counts_terms_like_the_reference(keys, field):
    buckets = aggregate({"t": {"terms": {"field": field, "size": 100}}})["t"]["buckets"]
    expected = sorted(counts_by(keys, field).items(), key=lambda item: (-item[1], item[0]))
    assert [(b["key"], b["doc_count"]) for b in buckets] == expected


def test_it_counts_the_terms_left_out_of_the_top_buckets(keys):
    result = aggregate({"t": {"terms": {"field": "metadata.team", "size": 2}}})["t"]
    counts = counts_by(keys, "metadata.team")
    assert result["sum_other_doc_count"] == sum(counts.values()) - sum(b["doc_count"] for b in result["buckets"])


def test_it_orders_terms_by_key_when_asked(keys):
    buckets = aggregate({"t": {"terms": {"field": "name", "order": {"_key": "desc"}, "size": 5}}})["t"]["buckets"]
    assert [b["key"] for b in buckets] == sorted({k["name"] for k in keys}, reverse=True)[:5]


def test_it_counts_boolean_terms_with_numeric_keys(keys):
    buckets = aggregate({"t": {"terms": {"field": "invalidated"}}})["t"]["buckets"]
    counts = Counter(k["invalidated"] for k in keys)
    assert [(b["key"], b["key_as_string"], b["doc_count"]) for b in buckets] == [
        (0, "false", counts[False]),
        (1, "true", counts[True]),
    ]


def test_it_counts_terms_within_the_query(keys):
    query = {"term": {"invalidated": False}}
    buckets = aggregate({"t": {"terms": {"field": "username"}}}, query)["t"]["buckets"]
    expected = Counter(k["username"] for k in keys if not k["invalidated"])
    assert {b["key"]: b["doc_count"] for b in buckets} == expected


def test_it_counts_a_range_aggregation_on_a_date_field(keys):
    ranges = [{"to": epoch_ms(20)}, {"from": epoch_ms(20), "to": iso(5)}, {"from": iso(5)}]
    buckets = aggregate({"r": {"range": {"field": "creation", "ranges": ranges}}})["r"]["buckets"]
    low, high = NOW - timedelta(days=20), NOW - timedelta(days=5)
    creations = [k["creation"] for k in keys]
    expected = [
        sum(c < low for c in creations),
        sum(low <= c < high for c in creations),
        sum(c >= high for c in creations),
    ]
    assert [b["doc_count"] for b in buckets] == expected


def test_it_counts_a_date_range_aggregation_with_date_math(keys):
    ranges = [{"key": "old", "to": "now-9d"}, {"key": "recent", "from": "now-9d"}]
    buckets = aggregate({"r": {"date_range": {"field": "expiration", "ranges": ranges, "keyed": True}}})["r"]["buckets"]
    boundary = datetime.now(UTC) - timedelta(days=9)
    expirations = [k["expiration"] for k in keys if k["expiration"] is not None]
    assert {name: b["doc_count"] for name, b in buckets.items()} == {
        "old": sum(e < boundary for e in expirations),
        "recent": sum(e >= boundary for e in expirations),
    }


@pytest.mark.parametrize("field", ["expiration", "invalidation", "name", "metadata.team", "metadata.deprecated"])
def test_it_counts_keys_missing_a_field(keys, field):
    result = aggregate({"m": {"missing": {"field": field}}})["m"]
    assert result["doc_count"] == sum(field_value(k, field) is None for k in keys)


def test_it_counts_keys_without_metadata(keys):
    assert aggregate({"m": {"missing": {"field": "metadata"}}})["m"]["doc_count"] == sum(
        not has_any_leaf(k["metadata"]) for k in keys
    )


@pytest.mark.parametrize("field", ["name", "username", "expiration", "metadata.team", "metadata.tier"])
def test_it_counts_distinct_values(keys, field):
    assert aggregate({"c": {"cardinality": {"field": field}}})["c"]["value"] == len(counts_by(keys, field))


@pytest.mark.parametrize("field", ["name", "expiration", "invalidation", "metadata.team", "metadata.env.region"])
def test_it_counts_values(keys, field):
    assert aggregate({"v": {"value_count": {"field": field}}})["v"]["value"] == sum(counts_by(keys, field).values())


def test_it_counts_a_filter_aggregation(keys):
    query = {"bool": {"must": [{"prefix": {"name": "ci"}}], "must_not": [{"term": {"username": "bob"}}]}}
    assert aggregate({"f": {"filter": query}})["f"]["doc_count"] == len(expected_ids(keys, query))


def test_it_counts_keyed_filters_and_the_other_bucket(keys):
    filters = {"expired": {"range": {"expiration": {"lte": "now"}}}, "revoked": {"term": {"invalidated": True}}}
    body = {"filters": filters, "other_bucket_key": "rest"}
    buckets = aggregate({"f": {"filters": body}})["f"]["buckets"]
    rest = [k for k in keys if not any(matches(q, k) for q in filters.values())]
    assert {name: b["doc_count"] for name, b in buckets.items()} == {
        "expired": len(expected_ids(keys, filters["expired"])),
        "revoked": len(expected_ids(keys, filters["revoked"])),
        "rest": len(rest),
    }


def test_it_counts_anonymous_filters_in_order(keys):
    filters = [{"term": {"username": "alice"}}, {"exists": {"field": "metadata.tier"}}, {"match_all": {}}]
    buckets = aggregate({"f": {"filters": {"filters": filters}}})["f"]["buckets"]
    assert [b["doc_count"] for b in buckets] == [len(expected_ids(keys, q)) for q in filters]


def test_it_pages_composite_buckets_with_after(keys):
    sources = [
        {"user": {"terms": {"field": "username"}}},
        {"team": {"terms": {"field": "metadata.team", "order": "desc"}}},
    ]
    seen: list[tuple[tuple[str, str], int]] = []
    body: dict[str, Any] = {"sources": sources, "size": 2}
    while True:
        result = aggregate({"c": {"composite": body}})["c"]
        if not result["buckets"]:
            break
        seen += [((b["key"]["user"], b["key"]["team"]), b["doc_count"]) for b in result["buckets"]]
        body["after"] = result["after_key"]
    counts = Counter(
        (k["username"], field_value(k, "metadata.team")) for k in keys if field_value(k, "metadata.team") is not None
    )
    expected = sorted(counts.items(), key=lambda item: item[0][1], reverse=True)
    expected.sort(key=lambda item: item[0][0])
    assert seen == expected


def test_a_page_read_by_walking_the_sort_index_is_the_same_page(keys, monkeypatch):
    monkeypatch.setattr("apikeys.query.searching.WALK_SORT_FROM_MATCHES", 0)  # every query with 10+ matches walks
    walked = [q for q in ALL_QUERIES if len(expected_ids(keys, q)) >= 10]
    assert len(walked) >= 10
    for query in walked:
        for sort in ([("creation", "asc")], [("name", "desc")], [("expiration", "asc")]):
            result = search(ApiKey.objects.all(), {"query": query, "sort": [{f: o} for f, o in sort], "size": 1})
            matching = [k for k in keys if matches(query, k)]
            assert [k.id for k in result.keys] == reference_order(matching, sort)[:1], (query, sort)


def test_it_refuses_a_query_with_too_many_clauses(keys):
    many = {"bool": {"should": [{"term": {"name": f"key-{i}"}} for i in range(MAX_CLAUSE_COUNT + 1)]}}
    with pytest.raises(QueryError) as refused:
        run({"query": many})
    assert refused.value.error_type == "too_many_nested_clauses"
    assert f"maxClauseCount is set to {MAX_CLAUSE_COUNT}" in refused.value.reason


def test_it_answers_a_query_of_as_many_clauses_as_allowed(keys):
    names = [k["name"] for k in keys][:3] + [f"absent-{i}" for i in range(MAX_CLAUSE_COUNT - 3)]
    query = {"bool": {"should": [{"term": {"name": name}} for name in names]}}
    assert set(found_ids(query)) == expected_ids(keys, query)


def test_it_refuses_nested_minimum_should_match_before_building_it(db):
    inner = {"bool": {"should": [{"term": {"name": f"n{i}"}} for i in range(8)], "minimum_should_match": 4}}
    outer = {"bool": {"should": [inner] * 8, "minimum_should_match": 4}}
    with pytest.raises(QueryError) as refused:
        run({"query": {"bool": {"should": [outer] * 8, "minimum_should_match": 4}}})
    assert refused.value.error_type == "too_many_nested_clauses"
