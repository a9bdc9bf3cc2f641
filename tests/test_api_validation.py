"""Bad input gets a 400/405/413 with a clear reason, and changes nothing."""

import json

import pytest

from apikeys.models import ApiKey, Role, User
from tests.conftest import basic, new_key


def database_state():
    keys = list(ApiKey.objects.order_by("id").values())
    roles = list(Role.objects.order_by("name").values())
    users = list(User.objects.order_by("username").values("username", "password", "email", "is_active", "metadata"))
    return keys, roles, users


@pytest.fixture
def existing(alice):
    return new_key(alice, "existing", metadata={"v": 1})


def assert_refused(response, status, error_type, reason_part, before):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == status
    assert body["error"]["type"] == error_type
    assert body["error"]["root_cause"][0]["type"] == error_type
    assert reason_part in body["error"]["reason"]
    assert response["X-Elastic-Product"] == "Elasticsearch"
    assert database_state() == before


CREATE_CASES = [
    ({"name": "x", "nope": 1}, "x_content_parse_exception", "unknown field [nope]"),
    ({}, "action_request_validation_exception", "Validation Failed: 1: api key name is required;"),
    ({"name": 5}, "action_request_validation_exception", "api key name is required"),
    ({"name": ""}, "action_request_validation_exception", "api key name is required"),
    ({"name": "x" * 257}, "action_request_validation_exception", "may not be more than [256] characters long"),
    ({"name": " padded"}, "action_request_validation_exception", "may not begin or end with whitespace"),
    ({"name": "_hidden"}, "action_request_validation_exception", "may not begin with an underscore"),
    ({"name": "bell\u0007"}, "action_request_validation_exception", "may not contain control characters"),
    ({"name": "x", "metadata": {"_secret": 1}}, "action_request_validation_exception", "may not start with [_]"),
    ({"name": "x", "metadata": "text"}, "x_content_parse_exception", "[metadata] must be an object"),
    (
        {"name": "x", "expiration": "1x"},
        "illegal_argument_exception",
        "failed to parse setting [expiration] with value [1x] as a time value",
    ),
    ({"name": "x", "expiration": "-1d"}, "illegal_argument_exception", "negative"),
    ({"name": "x", "expiration": "1.5h"}, "illegal_argument_exception", "fractional"),
    ({"name": "x", "expiration": 30}, "illegal_argument_exception", "as a time value"),
    ({"name": "x", "expiration": "999999999999d"}, "illegal_argument_exception", "value is too large"),
    ({"name": "x", "role_descriptors": []}, "illegal_argument_exception", "expected object"),
    (
        {"name": "x", "role_descriptors": {"r": {"clusterz": []}}},
        "parse_exception",
        "failed to parse role [r]. unexpected field [clusterz]",
    ),
    (
        {"name": "x", "role_descriptors": {"r": {"cluster": ["fly"]}}},
        "illegal_argument_exception",
        "unknown cluster privilege [fly]",
    ),
]


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize(("body", "error_type", "reason"), CREATE_CASES)
def test_create_refuses_bad_input(api, existing, alice, method, body, error_type, reason):
    before = database_state()
    assert_refused(api(method, "/_security/api_key", basic(alice), body), 400, error_type, reason, before)


def test_a_whole_create_is_refused_when_one_field_is_bad(api, existing, alice):
    before = database_state()
    body = {
        "name": "good",
        "metadata": {"ok": 1},
        "role_descriptors": {"r": {"cluster": ["monitor"]}},
        "expiration": "1q",
    }
    assert_refused(
        api("POST", "/_security/api_key", basic(alice), body), 400, "illegal_argument_exception", "[1q]", before
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"name":', "Failed to parse request body"),
        (b"[1, 2]", "must be a JSON object"),
        (b"\xff\xfe", "Failed to parse"),
        (b"", "request body is required"),
    ],
)
def test_create_refuses_malformed_json(api, existing, alice, raw, reason):
    before = database_state()
    response = api("POST", "/_security/api_key", basic(alice), raw=raw)
    assert response.status_code == 400
    assert reason in response.json()["error"]["reason"]
    assert response.json()["error"]["type"] in ("x_content_parse_exception", "parse_exception")
    assert database_state() == before


def test_the_vendor_media_type_is_parsed_as_json(api, alice, client):
    response = client.post(
        "/_security/api_key",
        json.dumps({"name": "vendor"}),
        content_type="application/vnd.elasticsearch+json; compatible-with=9",
        HTTP_AUTHORIZATION=basic(alice),
    )
    assert response.status_code == 200
    assert ApiKey.objects.filter(name="vendor").exists()


def test_an_oversized_body_is_answered_413(api, existing, alice, settings):
    before = database_state()
    body = {"name": "big", "metadata": {"blob": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}}
    assert_refused(
        api("POST", "/_security/api_key", basic(alice), body),
        413,
        "content_too_long_exception",
        "larger than the limit",
        before,
    )


UPDATE_CASES = [
    ({"name": "renamed"}, "x_content_parse_exception", "unknown field [name]"),
    ({"metadata": {"_x": 1}}, "action_request_validation_exception", "may not start with [_]"),
    ({"metadata": [1]}, "x_content_parse_exception", "must be an object"),
    ({"expiration": "soon"}, "illegal_argument_exception", "as a time value"),
    (
        {"role_descriptors": {"r": {"indices": [{"names": [], "privileges": ["read"]}]}}},
        "illegal_argument_exception",
        "r.indices[0].names",
    ),
]


@pytest.mark.parametrize(("body", "error_type", "reason"), UPDATE_CASES)
def test_update_refuses_bad_input(api, existing, alice, body, error_type, reason):
    before = database_state()
    assert_refused(
        api("PUT", f"/_security/api_key/{existing.key.id}", basic(alice), body), 400, error_type, reason, before
    )


def test_update_refuses_invalidated_and_expired_keys(api, existing, alice):
    ApiKey.objects.filter(pk=existing.key.id).update(invalidated=True)
    before = database_state()
    response = api("PUT", f"/_security/api_key/{existing.key.id}", basic(alice), {"metadata": {"v": 2}})
    assert_refused(
        response, 400, "illegal_argument_exception", f"cannot update invalidated API key [{existing.key.id}]", before
    )
    from django.utils import timezone

    ApiKey.objects.filter(pk=existing.key.id).update(invalidated=False, expiration=timezone.now())
    before = database_state()
    response = api("PUT", f"/_security/api_key/{existing.key.id}", basic(alice), {"metadata": {"v": 2}})
    assert_refused(
        response, 400, "illegal_argument_exception", f"cannot update expired API key [{existing.key.id}]", before
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "must be a non-empty array"),
        ({"ids": []}, "Field [ids] cannot be an empty array"),
        ({"ids": [1]}, "non-empty array"),
        ({"ids": ["a"], "name": "x"}, "unknown field [name]"),
        ({"ids": ["a"], "expiration": "1z"}, "as a time value"),
    ],
)
def test_bulk_update_refuses_bad_input(api, existing, alice, body, reason):
    before = database_state()
    response = api("POST", "/_security/api_key/_bulk_update", basic(alice), body)
    assert response.status_code == 400
    assert reason in response.json()["error"]["reason"]
    assert database_state() == before


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false"),
        ({"ids": []}, "Field [ids] cannot be an empty array"),
        ({"ids": ["a"], "id": "b"}, "Must use either [id] or [ids], not both at the same time"),
        ({"ids": ["a"], "name": "x"}, "only one of [api key id(s), api key name] can be specified"),
        ({"owner": True, "username": "alice"}, "username or realm name must not be specified"),
        ({"ids": "abc"}, "must be an array of strings"),
        ({"owner": "yes"}, "must be a boolean"),
        ({"idz": ["a"]}, "unknown field [idz]"),
    ],
)
def test_invalidate_refuses_bad_input(api, existing, alice, body, reason):
    before = database_state()
    response = api("DELETE", "/_security/api_key", basic(alice), body)
    assert response.status_code == 400
    assert reason in response.json()["error"]["reason"]
    assert database_state() == before


def test_invalidate_matching_nothing_is_a_200_with_empty_lists(api, existing, alice):
    response = api("DELETE", "/_security/api_key", basic(alice), {"ids": ["no-such-key"], "owner": True})
    assert response.status_code == 200
    assert response.json() == {"invalidated_api_keys": [], "previously_invalidated_api_keys": [], "error_count": 0}


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"id": "a", "name": "b"}, "only one of [api key id, api key name] can be specified"),
        ({"id": "a", "username": "alice"}, "username or realm name must not be specified"),
        ({"owner": True, "username": "alice"}, "username or realm name must not be specified"),
        ({"active_only": "yes"}, "only [true] or [false] are allowed"),
        ({"colour": "blue"}, "contains unrecognized parameter: [colour]"),
    ],
)
def test_get_refuses_bad_parameters(api, existing, admin, params, reason):
    response = api("GET", "/_security/api_key", basic(admin), **params)
    assert response.status_code == 400
    assert reason in response.json()["error"]["reason"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"query": {"fuzzy": {"name": "x"}}}, "Query type [fuzzy] is not currently supported in this context"),
        ({"query": {"term": {"api_key_hash": "x"}}}, "Field [api_key_hash] is not allowed for querying or aggregation"),
        ({"query": {"term": {"id": "x"}}}, "Field [id] is not allowed for querying or aggregation"),
        ({"from": 9995, "size": 10}, "Result window is too large"),
        ({"size": -1}, "cannot be negative"),
        ({"sort": ["id"]}, "not allowed for sorting"),
        ({"sort": [{"name": "sideways"}]}, "unknown order"),
        ({"aggs": {"a": {"histogram": {"field": "creation"}}}}, "Unsupported aggregation of type [histogram]"),
        ({"search_after": ["x"]}, "[search_after] needs a [sort]"),
        ({"querry": {}}, "unknown field [querry]"),
        ({"query": {"range": {"creation": {"gte": "yesterday-ish"}}}}, "failed to parse date field"),
        ({"query": {"term": {"creation": 10**20}}}, "failed to parse date field"),
        ({"query": {"range": {"expiration": {"lt": "now+99999999y"}}}}, "failed to parse date field"),
        ({"sort": ["creation"], "search_after": [-(10**20), "x"]}, "failed to parse date field"),
        ({"aggs": {"a": {"terms": {"field": "name", "size": 10**20}}}}, "at most [65536]"),
        ({"aggs": {"a": {"composite": {"sources": [{"n": {"terms": {"field": "name"}}}], "size": 10**20}}}}, "65536"),
        ({"aggs": {"a": {"range": {"field": "metadata.v", "ranges": [{"from": "abc"}]}}}}, "must be numbers"),
        ({"aggs": {"a": {"filters": {"filters": [], "other_bucket_key": {"x": 1}}}}}, "must be a string"),
        ({"query": {"bool": {"should": [{"term": {"name": str(i)}} for i in range(1000)]}}}, "maxClauseCount"),
        (
            {"aggs": {"a": {"filter": {"bool": {"should": [{"prefix": {"name": str(i)}} for i in range(1000)]}}}}},
            "too many nested clauses",
        ),
    ],
)
def test_query_refuses_bad_input(api, existing, admin, body, reason):
    response = api("POST", "/_security/_query/api_key", basic(admin), body)
    assert response.status_code == 400
    assert reason in response.json()["error"]["reason"]


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        (
            "/_security/role/r1",
            {"cluster": ["monitor"], "colour": "red"},
            "failed to parse role [r1]. unexpected field [colour]",
        ),
        ("/_security/role/r1", {"indices": [{"names": "x", "privileges": []}]}, "indices[0].privileges"),
        ("/_security/role/superuser", {"cluster": []}, "reserved"),
        ("/_security/user/zed", {"roles": []}, "password must be specified"),
        ("/_security/user/zed", {"password": "short", "roles": []}, "passwords must be at least [6] characters long"),
        (
            "/_security/user/zed",
            {"password": "long enough", "roles": ["ok", 7]},
            "expected a string array but one of the value in the array is [VALUE_NUMBER]",
        ),
        (
            "/_security/user/zed",
            {"password": "long enough", "roles": [], "enabled": "yes"},
            "expected field [enabled] to be of type boolean, but found [VALUE_STRING] instead",
        ),
        ("/_security/user/zed", {"password": "long enough", "hobby": "x"}, "unexpected field [hobby]"),
        ("/_security/user/zed", {"password": "long enough"}, "roles are missing"),
        ("/_security/user/_zed", {"password": "long enough", "roles": []}, "invalid username"),
    ],
)
def test_role_and_user_writes_refuse_bad_input(api, existing, admin, path, body, reason):
    before = database_state()
    response = api("PUT", path, basic(admin), body)
    assert response.status_code == 400, response.content
    assert reason in response.json()["error"]["reason"]
    assert database_state() == before


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"cluster": ["fly"]}, "unknown cluster privilege [fly]"),
        ({"cluster": "monitor"}, "is not of type 'array'"),
        ({"indexes": []}, "Additional properties"),
    ],
)
def test_has_privileges_refuses_bad_input(api, alice, body, reason):
    response = api("POST", "/_security/user/_has_privileges", basic(alice), body)
    assert response.status_code == 400
    assert reason in response.json()["error"]["reason"]


def nested(depth: int, leaf: str = "1") -> str:
    return '{"a": ' * depth + leaf + "}" * depth


UNSTORABLE = "strings may not contain NUL characters or unpaired surrogates"


@pytest.mark.parametrize(
    ("path", "raw", "reason"),
    [
        ("/_security/api_key", b'{"name": "x", "metadata": {"a": "\\u0000"}}', UNSTORABLE),
        ("/_security/api_key", b'{"name": "x", "metadata": {"a\\u0000": 1}}', UNSTORABLE),
        ("/_security/api_key", b'{"name": "\\ud800"}', UNSTORABLE),
        ("/_security/_query/api_key", b'{"query": {"term": {"name": "a\\udc00"}}}', UNSTORABLE),
        ("/_security/role/r1", b'{"metadata": {"a": "\\u0000"}}', UNSTORABLE),
        ("/_security/api_key", b'{"name": "x", "metadata": {"a": NaN}}', "[NaN] is not a JSON number"),
        ("/_security/api_key", b'{"name": "x", "metadata": {"a": -Infinity}}', "[-Infinity] is not a JSON number"),
        ("/_security/api_key", b'{"name": "x", "metadata": {"a": 1e400}}', "number [1e400] is out of range"),
        ("/_security/api_key", b"[" * 100_000 + b"]" * 100_000, "nesting depth exceeds the maximum allowed depth"),
        ("/_security/api_key", f'{{"name": "x", "metadata": {nested(150)}}}'.encode(), "nesting depth exceeds"),
        ("/_security/_query/api_key", f'{{"query": {nested(150)}}}'.encode(), "nesting depth exceeds"),
    ],
)
def test_it_refuses_bodies_that_no_database_stores_or_that_nest_too_deep(api, existing, admin, path, raw, reason):
    before = database_state()
    response = api("PUT" if "role" in path else "POST", path, basic(admin), raw=raw)
    assert_refused(response, 400, "x_content_parse_exception", reason, before)


def test_it_takes_a_body_nested_as_deep_as_allowed(api, admin):
    response = api(
        "POST", "/_security/api_key", basic(admin), raw=f'{{"name": "x", "metadata": {nested(99)}}}'.encode()
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/_security/api_key?name=a%00"),
        ("GET", "/_security/api_key?id=a%00"),
        ("PUT", "/_security/api_key/a%00b"),
        ("DELETE", "/_security/user/a%00b"),
        ("DELETE", "/_security/role/a%00b"),
    ],
)
def test_it_refuses_a_nul_in_the_path_or_the_parameters(api, existing, admin, method, url):
    before = database_state()
    response = api(method, url, basic(admin))
    assert_refused(response, 400, "illegal_argument_exception", "may not contain NUL characters", before)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/_security/api_key"),
        ("GET", "/_security/api_key/_bulk_update"),
        ("GET", "/_security/api_key/grant"),
        ("GET", "/_security/api_key/abc"),
        ("DELETE", "/_security/_query/api_key"),
        ("POST", "/_security/_authenticate"),
        ("PUT", "/_security/user/_has_privileges"),
        ("GET", "/_security/api_key/abc/_clear_cache"),
        ("POST", "/_security/role"),
        ("DELETE", "/_security/user"),
    ],
)
def test_wrong_methods_get_405(api, admin, method, path):
    response = api(method, path, basic(admin))
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "method_not_allowed"
    assert "Incorrect HTTP method" in response.json()["error"]["reason"]
    assert response["X-Elastic-Product"] == "Elasticsearch"


def test_unknown_security_paths_get_an_elasticsearch_error(api, admin):
    response = api("GET", "/_security/nothing_here", basic(admin))
    assert response.status_code == 400
    assert response["X-Elastic-Product"] == "Elasticsearch"
    assert "no handler found for uri [/_security/nothing_here]" in response.json()["error"]["reason"]


@pytest.mark.parametrize(("query", "indented"), [("pretty", True), ("pretty=true", True), ("pretty=false", False)])
def test_pretty_indents_the_answer_only_when_asked(client, admin, query, indented):
    response = client.get(f"/_security/_authenticate?{query}", HTTP_AUTHORIZATION=basic(admin))
    assert response.status_code == 200
    assert (b'\n  "' in response.content) is indented


def test_pretty_refuses_a_value_that_is_not_a_boolean(client, admin):
    response = client.get("/_security/_authenticate?pretty=yes", HTTP_AUTHORIZATION=basic(admin))
    assert response.status_code == 400
    assert "as only [true] or [false] are allowed" in response.json()["error"]["reason"]
