"""GET /metrics: every metric moves exactly as the requests that should move it, and only callers holding
`monitor` (or the metrics token) may read them. (Several gunicorn workers adding up: tests/faults/.)"""

from __future__ import annotations

import base64
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apikeys.infra import caching
from apikeys.models import ApiKey
from apikeys.records import usage
from apikeys.services import purge_api_keys
from tests.conftest import PASSWORD, apikey_header, basic, make_role, make_user, new_key
from tests.test_outages import postgresql_refused, redis_refusing  # noqa: F401 - a fixture

TOKEN = "metrics-token-" + "m" * 30
AUTHENTICATE = "/_security/_authenticate"


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    settings.APIKEYS_METRICS_TOKEN = TOKEN
    settings.APIKEYS_METRICS_STATE_SECONDS = 0


def scrape(client: Client | None = None) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape with the metrics token (which authenticates nothing, so counts nothing):
    (name, labels) -> value."""
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def wrong_secret(key_id: str) -> str:
    return apikey_header(base64.b64encode(f"{key_id}:not-the-secret".encode()).decode())


# --- Authentications ---------------------------------------------------------------------------------------


def test_n_good_and_m_bad_api_key_authentications_add_exactly_n_and_m(api, alice):
    key = new_key(alice)
    before = scrape()
    for _ in range(5):
        assert api("GET", AUTHENTICATE, apikey_header(key.encoded)).status_code == 200
    for _ in range(3):
        assert api("GET", AUTHENTICATE, wrong_secret(key.key.id)).status_code == 401
    after = scrape()
    total = "apikeys_authentications_total"
    assert moved(before, after, total, credential="api_key", outcome="success") == 5
    assert moved(before, after, total, credential="api_key", outcome="refused", reason="wrong_secret") == 3
    assert moved(before, after, total, outcome="refused") == 3
    assert moved(before, after, total) == 8


def test_each_refusal_is_counted_under_its_reason(api, alice):
    expired, invalidated, gone = new_key(alice, "expired"), new_key(alice, "invalidated"), new_key(alice, "gone")
    ApiKey.objects.filter(pk=expired.key.id).update(expiration=timezone.now() - timedelta(seconds=1))
    ApiKey.objects.filter(pk=invalidated.key.id).update(invalidated=True, invalidation=timezone.now())
    ApiKey.objects.filter(pk=gone.key.id).delete()
    refusals = {
        "expired": apikey_header(expired.encoded),
        "invalidated": apikey_header(invalidated.encoded),
        "unknown_id": apikey_header(gone.encoded),
        "malformed": "ApiKey not-base64!",
        "wrong_user_or_password": basic(alice, "not the password"),
        "invalid_token": "Bearer no-such-token",
        "missing_credentials": None,
    }
    before = scrape()
    for auth in refusals.values():
        assert api("GET", AUTHENTICATE, auth).status_code == 401
    after = scrape()
    total = "apikeys_authentications_total"
    counted = {reason: moved(before, after, total, outcome="refused", reason=reason) for reason in refusals}
    assert counted == dict.fromkeys(refusals, 1)
    assert moved(before, after, total, credential="none", reason="missing_credentials") == 1
    assert moved(before, after, total, credential="bearer", reason="invalid_token") == 1
    assert moved(before, after, total, credential="basic", reason="wrong_user_or_password") == 1


def test_basic_and_bearer_successes_are_counted_by_credential(api, admin, alice):
    grant = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    token = api("POST", "/_security/oauth2/token", basic(admin), grant).json()["access_token"]
    before = scrape()
    assert api("GET", AUTHENTICATE, basic(alice)).status_code == 200
    assert api("GET", AUTHENTICATE, f"Bearer {token}").status_code == 200
    after = scrape()
    total = "apikeys_authentications_total"
    assert moved(before, after, total, credential="basic", outcome="success") == 1
    assert moved(before, after, total, credential="bearer", outcome="success") == 1


def test_a_throttled_authentication_counts_as_throttled_not_as_its_first_reason(api, alice, settings):
    settings.APIKEYS_AUTH_FAILURES_PER_KEY = 2
    key = new_key(alice)
    before = scrape()
    statuses = [api("GET", AUTHENTICATE, wrong_secret(key.key.id)).status_code for _ in range(4)]
    assert statuses == [401, 401, 429, 429]
    after = scrape()
    total = "apikeys_authentications_total"
    assert moved(before, after, total, reason="wrong_secret") == 2
    assert moved(before, after, total, reason=usage.Refusal.THROTTLED.value) == 2


# --- Requests ------------------------------------------------------------------------------------------------


def test_a_request_is_counted_once_by_its_route_never_its_path(api, alice):
    key = new_key(alice)
    before = scrape()
    assert api("GET", f"/_security/api_key/{key.key.id}/_usage", basic(alice)).status_code == 200
    after = scrape()
    route = "_security/api_key/<str:key_id>/_usage"
    labels = {"surface": "api", "endpoint": route, "method": "GET"}
    assert moved(before, after, "apikeys_http_requests_total", **labels, status="200") == 1
    assert moved(before, after, "apikeys_http_request_duration_seconds_count", **labels) == 1
    text = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert key.key.id not in text and "alice" not in text


def test_a_refused_console_request_counts_once(alice, charlie):
    browser = Client()
    before = scrape()
    assert browser.get("/audit/").status_code == 302  # anonymous: to the sign-in page
    browser.force_login(charlie)
    assert browser.get("/audit/").status_code == 403  # no manage_security
    after = scrape()
    labels = {"surface": "console", "endpoint": "audit_log", "method": "GET"}
    assert moved(before, after, "apikeys_http_requests_total", **labels, status="302") == 1
    assert moved(before, after, "apikeys_http_requests_total", **labels, status="403") == 1
    assert moved(before, after, "apikeys_http_requests_total", surface="console", endpoint="audit_log") == 2
    assert moved(before, after, "apikeys_authentications_total") == 0  # the console signs in, it does not count here


def test_an_unknown_method_and_an_unrouted_path_take_fixed_labels(api, db):
    before = scrape()
    assert api("GET", "/_security/no/such/path/with-an-id-1234").status_code == 400  # as Elasticsearch
    assert api("BREW", "/_security/_authenticate").status_code == 405
    after = scrape()
    unrouted = {"surface": "api", "endpoint": "unmatched", "method": "GET", "status": "400"}
    assert moved(before, after, "apikeys_http_requests_total", **unrouted) == 1
    brewed = {"surface": "api", "endpoint": "_security/_authenticate", "method": "other", "status": "405"}
    assert moved(before, after, "apikeys_http_requests_total", **brewed) == 1
    assert not any("1234" in str(labels) for _, labels in after)


# --- Who may read them -----------------------------------------------------------------------------------------


@pytest.fixture
def monitor(db):
    return make_user("monitor", make_role("monitoring", {"cluster": ["monitor", "manage_own_api_key"]}))


@pytest.fixture
def operator(db):
    return make_user("operator", make_role("operating", {"cluster": ["manage"]}))


@pytest.mark.parametrize("who", ["monitor", "operator", "admin"])
def test_callers_holding_monitor_manage_or_all_read_the_metrics(api, request, who):
    user = request.getfixturevalue(who)
    response = api("GET", "/metrics", basic(user))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert b"apikeys_authentications_total" in response.content
    assert b"process_resident_memory_bytes" in response.content  # the library's process collector


def test_an_api_key_of_a_monitor_reads_the_metrics(api, monitor):
    key = new_key(monitor)
    assert api("GET", "/metrics", apikey_header(key.encoded)).status_code == 200


def test_the_metrics_refuse_anonymous_callers_as_the_api_does(api):
    response = api("GET", "/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("ApiKey")
    assert response.json()["error"]["type"] == "security_exception"


def test_the_metrics_refuse_a_wrong_password_and_a_wrong_token(api, monitor):
    assert api("GET", "/metrics", basic(monitor, "wrong")).status_code == 401
    assert api("GET", "/metrics", f"Bearer {TOKEN}x").status_code == 401


@pytest.mark.parametrize("who", ["charlie", "reader", "alice"])
def test_the_metrics_refuse_callers_without_monitor(api, request, who):
    user = request.getfixturevalue(who)
    response = api("GET", "/metrics", basic(user))
    assert response.status_code == 403
    reason = response.json()["error"]["reason"]
    assert reason.startswith(f"action [cluster:monitor/apikeys/metrics] is unauthorized for user [{user.username}]")
    assert reason.endswith("this action is granted by the cluster privileges [monitor,manage,all]")


def test_the_metrics_token_is_refused_when_none_is_set(api, settings, db):
    settings.APIKEYS_METRICS_TOKEN = ""
    assert api("GET", "/metrics", "Bearer ").status_code == 401


def test_the_metrics_answer_get_only(api, monitor):
    response = api("POST", "/metrics", basic(monitor))
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json()["error"]["reason"].startswith("Incorrect HTTP method for uri [/metrics] and method [POST]")


# --- The estate ------------------------------------------------------------------------------------------------


def test_keys_are_counted_by_status_and_type(api, admin, alice):
    for name in ("a", "b", "c"):
        new_key(alice, name)
    ApiKey.objects.filter(name="b").update(expiration=timezone.now() - timedelta(days=1))
    ApiKey.objects.filter(name="c").update(invalidated=True, invalidation=timezone.now())
    new_key(alice, "soon", expiration="2d")
    remote = api(
        "POST",
        "/_security/cross_cluster/api_key",
        basic(admin),
        {"name": "r", "access": {"search": [{"names": ["logs"]}]}},
    )
    assert remote.status_code == 200
    samples = scrape()
    counts = {
        (status, kind): value(samples, "apikeys_keys", status=status, type=kind)
        for status in ("active", "expired", "invalidated")
        for kind in ("rest", "cross_cluster")
    }
    assert counts == {
        ("active", "rest"): 2,
        ("expired", "rest"): 1,
        ("invalidated", "rest"): 1,
        ("active", "cross_cluster"): 1,
        ("expired", "cross_cluster"): 0,
        ("invalidated", "cross_cluster"): 0,
    }
    assert value(samples, "apikeys_keys_expiring_soon") == 1


def test_the_key_counts_are_read_at_most_once_per_interval_whoever_scrapes(alice, settings):
    settings.APIKEYS_METRICS_STATE_SECONDS = 60
    new_key(alice)
    with CaptureQueriesContext(connection) as queries:
        first = scrape()
        new_key(alice, "made between the scrapes")
        second = scrape(Client())
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "apikeys_apikey"' in q["sql"] and "COUNT" in q["sql"]]
    assert len(reads) == 1
    assert value(first, "apikeys_keys", status="active") == value(second, "apikeys_keys", status="active") == 1


def test_the_cache_is_reported_available_without_redis(db):
    assert value(scrape(), "apikeys_cache_available") == 1


def test_the_cache_is_reported_away_while_redis_refuses(redis_refusing, db):  # noqa: F811 - the fixture
    assert value(scrape(), "apikeys_cache_available") == 0
    caching.local.clear()


def test_a_request_meeting_the_database_away_is_counted(api, alice, monkeypatch):
    key = new_key(alice)
    before = scrape()

    def away(*args, **kwargs):
        raise postgresql_refused()

    monkeypatch.setattr("apikeys.access.authentication.KEY_WITH_OWNER.fetch", away)
    assert api("GET", AUTHENTICATE, apikey_header(key.encoded)).status_code == 503
    monkeypatch.undo()
    assert moved(before, scrape(), "apikeys_database_unavailable_total") == 1


def test_a_scrape_meeting_the_database_away_answers_without_the_estate(alice, monkeypatch):
    def away(*args, **kwargs):
        raise postgresql_refused()

    before = scrape()
    monkeypatch.setattr("apikeys.readmodels.operations.key_counts", away)
    during = scrape()
    assert moved(before, during, "apikeys_database_unavailable_total") == 1
    assert value(during, "apikeys_keys") == 0 and value(during, "apikeys_cache_available") == 1


def test_usage_counts_waiting_to_be_written_are_the_flush_backlog(api, alice):
    key = new_key(alice)
    usage.flush()
    before = scrape()
    for _ in range(3):
        api("GET", AUTHENTICATE, apikey_header(key.encoded))
    api("GET", AUTHENTICATE, wrong_secret(key.key.id))
    assert moved(before, scrape(), "apikeys_usage_flush_backlog") == 4
    usage.flush()
    assert moved(before, scrape(), "apikeys_usage_flush_backlog") == 0


def test_the_purge_reports_when_it_last_finished(db):
    assert value(scrape(), "apikeys_purge_last_success_timestamp_seconds") == 0  # never: not reported
    started = time.time()
    purge_api_keys()
    reported = value(scrape(), "apikeys_purge_last_success_timestamp_seconds")
    assert started - 1 <= reported <= time.time() + 1


def test_the_webhook_backlog_is_reported_only_with_a_webhook(alice, settings):
    assert ("apikeys_audit_webhook_backlog", frozenset()) not in scrape()
    settings.APIKEYS_AUDIT_WEBHOOK_URL = "http://127.0.0.1:9/audit"
    settings.APIKEYS_AUDIT_WEBHOOK_SECRET = "s"
    new_key(alice)
    assert value(scrape(), "apikeys_audit_webhook_backlog") == 1


def test_no_label_holds_a_key_id_or_a_username(api, alice):
    key = new_key(alice)
    api("GET", AUTHENTICATE, apikey_header(key.encoded))
    api("GET", AUTHENTICATE, basic(alice, PASSWORD))
    api("GET", AUTHENTICATE, wrong_secret(key.key.id))
    for _, labels in scrape():
        assert not any(key.key.id in v or "alice" in v for _, v in labels)
