"""Cloning a key (`POST|PUT /_security/api_key/clone`, Elasticsearch 9.4) through the official client: the clone
has the source's role descriptors, limits and owner, its expiration and metadata as asked, and says where it
came from; who may clone (`clone_api_key`); and every refusal leaves nothing behind."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
)

from apikeys.domain.durations import epoch_millis, now_ms
from apikeys.models import ApiKey, AuditEvent, KeyUsage
from apikeys.records import usage
from tests.conftest import basic, es_as, make_role, make_user, new_key

# The client marks the clone API a technical preview, as Elasticsearch 9.4 does.
pytestmark = pytest.mark.filterwarnings("ignore::elasticsearch.exceptions.GeneralAvailabilityWarning")
JSON = {"content-type": "application/json", "accept": "application/json"}
BOOKS = {"books": {"cluster": [], "indices": [{"names": ["books"], "privileges": ["read"]}]}}
DENIED = (
    "action [cluster:admin/xpack/security/api_key/clone] is unauthorized for user [alice] with effective roles "
    "[own_keys], this action is granted by the cluster privileges [clone_api_key,manage_api_key,manage_security,all]"
)


@pytest.fixture
def cloner_es(es_url, db) -> Elasticsearch:
    """A user holding clone_api_key and nothing else (Kibana's system user, say)."""
    make_user("cloner", make_role("cloner_role", {"cluster": ["clone_api_key"]}))
    return es_as(es_url, "cloner")


def encode(key_id: str, secret: str) -> str:
    return base64.b64encode(f"{key_id}:{secret}".encode()).decode()


def clone(es: Elasticsearch, body: dict, method: str = "POST") -> dict:
    return es.perform_request(method, "/_security/api_key/clone", headers=JSON, body=body).body


def refusal(caught: pytest.ExceptionInfo) -> dict:
    return caught.value.body["error"]


def test_a_clone_has_the_source_s_role_descriptors_limits_and_owner(alice_es, cloner_es, es_url):
    source = alice_es.security.create_api_key(name="reports", role_descriptors=BOOKS, metadata={"team": "ops"})

    answer = cloner_es.security.clone_api_key(api_key=source["encoded"], name="reports-for-kibana")

    assert list(answer.body) == ["id", "name", "api_key", "encoded"]  # the source never expires: nor does this
    assert answer["name"] == "reports-for-kibana" and answer["id"] != source["id"]
    (cloned,) = alice_es.security.get_api_key(id=answer["id"], owner=True, with_limited_by=True)["api_keys"]
    (original,) = alice_es.security.get_api_key(id=source["id"], owner=True, with_limited_by=True)["api_keys"]
    assert cloned["username"] == "alice" and cloned["type"] == "rest"
    assert cloned["role_descriptors"] == original["role_descriptors"]
    assert cloned["limited_by"] == original["limited_by"]
    assert cloned["metadata"] == {"team": "ops", "_cloned_from": source["id"]}
    assert "expiration" not in cloned
    me = Elasticsearch(es_url, api_key=answer["encoded"]).security.authenticate()
    assert me["username"] == "alice" and me["api_key"]["name"] == "reports-for-kibana"
    event = AuditEvent.objects.get(action="clone")
    assert (event.actor, event.key_id, event.target) == ("cloner", answer["id"], "reports-for-kibana")
    assert event.details == {"owner": "alice", "cloned_from": source["id"]}


def test_the_clone_s_expiration_is_the_source_s_none_or_new_as_asked(alice_es, cloner_es):
    source = alice_es.security.create_api_key(name="expiring", expiration="3d")

    same = clone(cloner_es, {"api_key": source["encoded"], "name": "same"})
    never = clone(cloner_es, {"api_key": source["encoded"], "name": "never", "expiration": None})
    before = epoch_millis(now_ms())
    new = cloner_es.security.clone_api_key(api_key=source["encoded"], name="new", expiration="1h")

    assert same["expiration"] == source["expiration"]
    assert "expiration" not in never and ApiKey.objects.get(pk=never["id"]).expiration is None
    assert before + 3_600_000 <= new["expiration"] <= epoch_millis(now_ms()) + 3_600_000


def test_given_metadata_replaces_the_source_s_and_still_names_the_source(alice_es, cloner_es):
    source = alice_es.security.create_api_key(name="m", metadata={"team": "ops", "tier": 1})
    replaced = cloner_es.security.clone_api_key(api_key=source["encoded"], name="replaced", metadata={"tier": 2})
    emptied = cloner_es.security.clone_api_key(api_key=source["encoded"], name="emptied", metadata={})
    assert ApiKey.objects.get(pk=replaced["id"]).metadata == {"tier": 2, "_cloned_from": source["id"]}
    assert ApiKey.objects.get(pk=emptied["id"]).metadata == {"_cloned_from": source["id"]}


def test_a_clone_of_a_clone_names_its_own_source_and_an_update_keeps_that(alice_es, cloner_es):
    source = alice_es.security.create_api_key(name="first")
    second = cloner_es.security.clone_api_key(api_key=source["encoded"], name="second")
    third = cloner_es.security.clone_api_key(api_key=second["encoded"], name="third")
    assert ApiKey.objects.get(pk=third["id"]).metadata == {"_cloned_from": second["id"]}

    alice_es.security.update_api_key(id=third["id"], metadata={"purpose": "ci"})

    assert ApiKey.objects.get(pk=third["id"]).metadata == {"purpose": "ci", "_cloned_from": second["id"]}


def test_put_clones_too_and_an_api_key_holding_clone_api_key_may_clone(alice_es, admin_es, es_url):
    source = alice_es.security.create_api_key(name="src")
    cloning_key = admin_es.security.create_api_key(
        name="kibana", role_descriptors={"clone": {"cluster": ["clone_api_key"]}}
    )
    as_key = Elasticsearch(es_url, api_key=cloning_key["encoded"])
    answer = clone(as_key, {"api_key": source["encoded"], "name": "by-a-key"}, method="PUT")
    assert ApiKey.objects.get(pk=answer["id"]).owner.username == "alice"


def test_manage_own_api_key_does_not_clone_even_one_s_own_key(alice_es):
    source = alice_es.security.create_api_key(name="mine")
    with pytest.raises(AuthorizationException) as caught:
        alice_es.security.clone_api_key(api_key=source["encoded"], name="copy")
    assert refusal(caught)["type"] == "security_exception" and refusal(caught)["reason"] == DENIED
    assert ApiKey.objects.count() == 1


def test_manage_api_key_clones_another_owner_s_key_for_that_owner(alice_es, es_url, manager):
    source = alice_es.security.create_api_key(name="alices")
    answer = es_as(es_url, "manager").security.clone_api_key(api_key=source["encoded"], name="still-alices")
    assert ApiKey.objects.get(pk=answer["id"]).owner.username == "alice"


@pytest.mark.parametrize(
    ("spoil", "cause"),
    [
        ("wrong_secret", "invalid credentials for API key [{id}]"),
        ("invalidated", "api key [{id}] has been invalidated"),
        ("expired", "api key is expired"),
        ("unknown", "unable to find apikey with id {id}"),
    ],
)
def test_a_source_that_does_not_authenticate_is_refused_with_why(alice_es, cloner_es, spoil, cause):
    source = alice_es.security.create_api_key(name="src")
    key_id, secret = source["id"], source["api_key"]
    if spoil == "wrong_secret":
        secret = "x" * 22
    elif spoil == "invalidated":
        alice_es.security.invalidate_api_key(ids=[key_id], owner=True)
    elif spoil == "expired":
        ApiKey.objects.filter(pk=key_id).update(expiration=timezone.now() - timedelta(seconds=1))
    else:
        key_id = "n" * 20

    with pytest.raises(AuthorizationException) as caught:
        cloner_es.security.clone_api_key(api_key=encode(key_id, secret), name="x")

    error = refusal(caught)
    assert error["root_cause"] == [{"type": "security_exception", "reason": "Failed to clone API key"}]
    assert error["reason"] == "Failed to clone API key"
    assert error["caused_by"] == {"type": "security_exception", "reason": cause.format(id=key_id)}
    assert ApiKey.objects.count() == 1 and not AuditEvent.objects.filter(action="clone").exists()


def test_a_cross_cluster_key_is_no_source(admin_es):
    remote = admin_es.security.create_cross_cluster_api_key(name="remote", access={"search": [{"names": ["*"]}]})
    with pytest.raises(AuthorizationException) as caught:
        admin_es.security.clone_api_key(api_key=remote["encoded"], name="x")
    assert refusal(caught)["caused_by"]["reason"] == (
        f"authentication expected API key type of [rest], but API key [{remote['id']}] has type [cross_cluster]"
    )
    assert ApiKey.objects.count() == 1


def test_a_wrong_secret_counts_as_a_refusal_of_the_source_key(alice_es, cloner_es):
    source = alice_es.security.create_api_key(name="src")
    with pytest.raises(AuthorizationException):
        cloner_es.security.clone_api_key(api_key=encode(source["id"], "y" * 22), name="x")
    usage.flush()
    refused = KeyUsage.objects.filter(key_id=source["id"], outcome=usage.Refusal.WRONG_SECRET)
    assert [row.count for row in refused] == [1]


@pytest.mark.parametrize("credential", ["not base64!", "bm8tY29sb24=", "OnNlY3JldA=="])
def test_a_credential_that_is_not_one_is_a_400(cloner_es, credential):
    with pytest.raises(BadRequestError) as caught:
        cloner_es.security.clone_api_key(api_key=credential, name="x")
    assert refusal(caught)["type"] == "status_exception"
    assert refusal(caught)["reason"] == "invalid API key credential: invalid ApiKey value"
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("body", "error_type", "reason"),
    [
        ({"name": "x"}, "action_request_validation_exception", "Validation Failed: 1: api key credential is required;"),
        ({"api_key": "", "name": "x"}, "action_request_validation_exception", "credential is required;"),
        ({"api_key": "{source}"}, "action_request_validation_exception", "Validation Failed: 1: api key name is"),
        (
            {"api_key": "", "name": "_x", "metadata": {"_cloned_from": "a"}},
            "action_request_validation_exception",
            "1: api key credential is required;2: api key name may not begin with an underscore;3: API key metadata",
        ),
        ({"api_key": "{source}", "name": "x", "owner": "bob"}, "x_content_parse_exception", "unknown field [owner]"),
        ({"api_key": 7, "name": "x"}, "x_content_parse_exception", "api_key doesn't support values of type: VALUE_N"),
        ({"api_key": "{source}", "name": None}, "x_content_parse_exception", "name doesn't support values of type"),
        ({"api_key": "{source}", "name": "x", "metadata": []}, "x_content_parse_exception", "type: START_ARRAY"),
        ({"api_key": "{source}", "name": "x", "expiration": 5}, "x_content_parse_exception", "expiration doesn't"),
        ({"api_key": "{source}", "name": "x", "expiration": "soon"}, "illegal_argument_exception", "[soon]"),
    ],
)
def test_bad_bodies_are_refused_and_change_nothing(alice_es, cloner_es, body, error_type, reason):
    source = alice_es.security.create_api_key(name="src")
    body = {k: source["encoded"] if v == "{source}" else v for k, v in body.items()}
    with pytest.raises(BadRequestError) as caught:
        clone(cloner_es, body)
    assert refusal(caught)["type"] == error_type and reason in refusal(caught)["reason"]
    assert ApiKey.objects.count() == 1 and not AuditEvent.objects.filter(action="clone").exists()


def test_a_bad_body_is_refused_before_the_caller_s_privileges_are_checked(alice_es):
    with pytest.raises(BadRequestError):
        clone(alice_es, {"name": "x"})


def test_the_lifetime_policy_holds_clones_to_its_maximum(alice_es, cloner_es, settings):
    source = alice_es.security.create_api_key(name="forever")
    settings.APIKEYS_MAX_EXPIRATION = "30d"
    before = epoch_millis(now_ms())

    inherited = cloner_es.security.clone_api_key(api_key=source["encoded"], name="capped")
    with pytest.raises(BadRequestError) as never:
        clone(cloner_es, {"api_key": source["encoded"], "name": "never", "expiration": None})
    with pytest.raises(BadRequestError) as too_long:
        cloner_es.security.clone_api_key(api_key=source["encoded"], name="long", expiration="31d")

    month = 30 * 24 * 3_600_000
    assert before + month <= inherited["expiration"] <= epoch_millis(now_ms()) + month
    assert "[expiration] is required" in refusal(never)["reason"]
    assert "longer than the maximum API key lifetime [30d]" in refusal(too_long)["reason"]
    assert ApiKey.objects.count() == 2


def test_wrong_method_anonymous_and_bad_credentials(es_url, cloner_es):
    with pytest.raises(ApiError) as caught:
        cloner_es.perform_request("GET", "/_security/api_key/clone", headers=JSON)
    assert caught.value.meta.status == 405 and caught.value.meta.headers["allow"] == "POST,PUT"
    with pytest.raises(AuthenticationException):
        Elasticsearch(es_url).security.clone_api_key(api_key="eA==", name="x")
    with pytest.raises(AuthenticationException):
        es_as(es_url, "cloner", "wrong password").security.clone_api_key(api_key="eA==", name="x")
    assert not ApiKey.objects.exists()


# --- the wire, through Django's test client ------------------------------------------------------------------


def test_an_empty_or_malformed_body_is_a_400_and_nothing_is_cloned(api, manager):
    new_key(manager, "src")
    empty = api("POST", "/_security/api_key/clone", basic(manager))
    assert empty.status_code == 400 and empty.json()["error"]["reason"] == "request body is required"
    broken = api("POST", "/_security/api_key/clone", basic(manager), raw=b'{"api_key": ')
    assert broken.status_code == 400 and broken.json()["error"]["type"] == "x_content_parse_exception"
    listed = api("POST", "/_security/api_key/clone", basic(manager), raw=b"[]")
    assert listed.status_code == 400
    assert ApiKey.objects.count() == 1 and not AuditEvent.objects.filter(action="clone").exists()


def test_anonymous_and_wrong_credentials_are_401s_that_say_how_to_authenticate(api, manager):
    body = {"api_key": new_key(manager, "src").encoded, "name": "x"}
    for auth in (None, basic(manager, "wrong"), "ApiKey bm9wZTpub3Bl"):
        answer = api("POST", "/_security/api_key/clone", auth, body)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("ApiKey")
    assert ApiKey.objects.count() == 1


def test_the_source_s_secret_never_appears_in_an_answer_or_the_audit_log(api, manager):
    source = new_key(manager, "src")
    answer = api("PUT", "/_security/api_key/clone", basic(manager), {"api_key": source.encoded, "name": "x"})
    assert answer.status_code == 200
    assert source.secret not in answer.content.decode() and source.encoded not in answer.content.decode()
    assert not any(source.secret in str(e.details) for e in AuditEvent.objects.all())
