"""Usage per key: every authentication outcome of a known key counted per hour (successes, refusals by reason),
kept in the process with no write on the request path, added to the table on the flush interval and at exit,
pruned with the purge, unaffected by Redis; the `_usage` API; the "Not used" rule."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apikeys.access.principals import Principal
from apikeys.domain.key_rules import not_used
from apikeys.infra import fast_rows
from apikeys.models import ApiKey, KeyUsage, KeyUsageDay
from apikeys.records import usage
from apikeys.services import create_cross_cluster_api_key, purge_api_keys
from tests.conftest import apikey_header, basic, make_role, make_user, new_key
from tests.test_outages import redis_refusing  # noqa: F401 - a fixture

AUTH = "/_security/_authenticate"
ROOT = Path(__file__).resolve().parents[1]


def stored(key_id: str) -> dict[str, int]:
    rows = KeyUsage.objects.filter(key_id=key_id).values("outcome").annotate(n=Sum("count"))
    return {row["outcome"]: row["n"] for row in rows}


def wrong(encoded: str) -> str:
    key_id = base64.b64decode(encoded).decode().split(":")[0]
    return base64.b64encode(f"{key_id}:not-the-secret".encode()).decode()


def test_each_outcome_is_counted_for_its_key(api, alice):
    good = new_key(alice, "good")
    for _ in range(3):
        assert api("GET", AUTH, apikey_header(good.encoded)).status_code == 200
    assert api("GET", AUTH, apikey_header(wrong(good.encoded))).status_code == 401
    expired = new_key(alice, "expired", expiration="1d")
    ApiKey.objects.filter(pk=expired.key.pk).update(expiration=timezone.now() - timedelta(seconds=1))
    assert api("GET", AUTH, apikey_header(expired.encoded)).status_code == 401
    dead = new_key(alice, "dead")
    ApiKey.objects.filter(pk=dead.key.pk).update(invalidated=True)
    assert api("GET", AUTH, apikey_header(dead.encoded)).status_code == 401
    security = make_user("sec", make_role("sec", {"cluster": ["manage_security"]}))
    remote = create_cross_cluster_api_key(
        Principal.for_user(security), {"name": "r", "access": {"search": [{"names": ["a"]}]}}
    )
    assert api("GET", AUTH, apikey_header(remote.encoded)).status_code == 401
    orphan = new_key(alice, "orphan")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert api("GET", AUTH, apikey_header(orphan.encoded)).status_code == 401
    unknown = base64.b64encode(b"nosuchkeyid123456789:secret").decode()
    assert api("GET", AUTH, apikey_header(unknown)).status_code == 401
    assert KeyUsage.objects.count() == 0  # nothing written yet: all of it is in the process

    usage.flush()

    assert stored(good.key.id) == {"success": 3, "wrong_secret": 1}
    assert stored(expired.key.id) == {"expired": 1}
    assert stored(dead.key.id) == {"invalidated": 1}
    assert stored(remote.key.id) == {"wrong_type": 1}
    assert stored(orphan.key.id) == {"owner_disabled": 1}
    assert stored("nosuchkeyid123456789") == {}
    hour = KeyUsage.objects.filter(key_id=good.key.id).values_list("hour", flat=True).first()
    assert hour == timezone.now().replace(minute=0, second=0, microsecond=0)


def test_refusals_past_the_limit_are_counted_as_throttled(api, alice, settings):
    settings.APIKEYS_AUTH_FAILURES_PER_KEY = 2
    key = new_key(alice, "guessed")
    statuses = [api("GET", AUTH, apikey_header(wrong(key.encoded))).status_code for _ in range(4)]
    assert statuses == [401, 401, 429, 429]
    usage.flush()
    assert stored(key.key.id) == {"wrong_secret": 2, "throttled": 2}


def test_a_warm_request_writes_nothing(api, alice):
    key = new_key(alice, "warm")
    api("GET", AUTH, apikey_header(key.encoded))  # the first use of the minute marks last_used, after the response

    with CaptureQueriesContext(connection) as queries:
        assert api("GET", AUTH, apikey_header(key.encoded)).status_code == 200

    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []
    assert usage._pending and KeyUsage.objects.count() == 0


def test_counts_are_flushed_after_the_response_once_the_interval_has_passed(api, alice, settings):
    settings.APIKEYS_USAGE_FLUSH_SECONDS = 0
    key = new_key(alice, "flushed")
    api("GET", AUTH, apikey_header(key.encoded))
    api("GET", AUTH, apikey_header(key.encoded))
    assert stored(key.key.id) == {"success": 2}  # two flushes, one row: the second added to the first
    assert KeyUsage.objects.filter(key_id=key.key.id).count() == 1
    assert list(KeyUsageDay.objects.filter(key_id=key.key.id).values_list("count", flat=True)) == [2]


def hour_of(when: datetime) -> int:
    return int(when.timestamp()) // 3600 * 3600


def test_each_day_holds_the_sum_of_its_hours_and_the_sparklines_read_the_days(db):
    now = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    usage.store(
        {
            ("k1", hour_of(now), usage.SUCCESS): 5,
            ("k1", hour_of(now), usage.Refusal.WRONG_SECRET): 1,
            ("k1", hour_of(now - timedelta(hours=9)), usage.SUCCESS): 2,  # 00:30, still today
            ("k1", hour_of(now - timedelta(hours=10)), usage.SUCCESS): 7,  # 23:30 yesterday
            ("k1", hour_of(now - timedelta(days=7)), usage.SUCCESS): 100,  # before the 7 days
            ("k2", hour_of(now - timedelta(days=6)), usage.Refusal.EXPIRED): 3,  # the window's first day
        }
    )
    usage.store({("k1", hour_of(now), usage.SUCCESS): 1})

    today = int(now.timestamp()) // 86_400
    days = dict(KeyUsageDay.objects.filter(key_id="k1").values_list("day", "count"))
    assert days == {today: 9, today - 1: 7, today - 7: 100}
    assert datetime.fromtimestamp(today * 86_400, UTC) == now.replace(hour=0, minute=0)
    assert usage.daily_totals(["k1", "k2", "k3"], 7, now=now) == {
        "k1": [0, 0, 0, 0, 0, 7, 9],
        "k2": [3, 0, 0, 0, 0, 0, 0],
        "k3": [0, 0, 0, 0, 0, 0, 0],
    }


def test_a_store_that_fails_writes_neither_table(db, monkeypatch):
    from django.db import DatabaseError

    real = fast_rows.add_counts

    def days_broken(model, key, rows):  # the hours are written, then the days fail
        if model is KeyUsageDay:
            raise DatabaseError("the days could not be written")
        real(model, key, rows)

    monkeypatch.setattr(fast_rows, "add_counts", days_broken)
    with pytest.raises(DatabaseError):
        usage.store({("k1", hour_of(timezone.now()), usage.SUCCESS): 1})
    assert not KeyUsage.objects.exists() and not KeyUsageDay.objects.exists()


def test_the_migration_adds_up_the_days_of_counts_stored_before_it(db):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("apikeys.migrations.0013_key_usage_days")
    midnight = datetime(2026, 11, 30, tzinfo=UTC)
    KeyUsage.objects.bulk_create(
        [
            KeyUsage(key_id="old", hour=midnight, outcome="success", count=3),
            KeyUsage(key_id="old", hour=midnight + timedelta(hours=23), outcome="expired", count=2),
            KeyUsage(key_id="old", hour=midnight + timedelta(hours=24), outcome="success", count=1),
            KeyUsage(key_id="another", hour=midnight + timedelta(hours=5), outcome="success", count=7),
            KeyUsage(key_id="another", hour=midnight + timedelta(hours=6), outcome="wrong_secret", count=1),
        ]
    )
    migration.add_up_the_days(apps, None)
    day = int(midnight.timestamp()) // 86_400
    assert sorted(KeyUsageDay.objects.values_list("key_id", "day", "count")) == [
        ("another", day, 8),
        ("old", day, 5),
        ("old", day + 1, 1),
    ]


def test_counts_that_cannot_be_written_are_kept_for_the_next_flush(alice, monkeypatch):
    from django.db import OperationalError

    usage.count("k1", usage.SUCCESS)

    def full(*args, **kwargs):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(usage, "store", full)
    with pytest.raises(OperationalError):
        usage.flush()
    monkeypatch.undo()
    usage.count("k1", usage.SUCCESS)
    usage.flush()
    assert stored("k1") == {"success": 2}


def test_counting_goes_on_while_redis_is_away(redis_refusing, api, alice):  # noqa: F811
    key = new_key(alice, "no-redis")
    assert api("GET", AUTH, apikey_header(key.encoded)).status_code == 200
    assert api("GET", AUTH, apikey_header(wrong(key.encoded))).status_code == 401
    usage.flush()
    assert stored(key.key.id) == {"success": 1, "wrong_secret": 1}


def test_a_process_that_exits_writes_its_counts(tmp_path):
    database = tmp_path / "exit.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "APIKEYS_USAGE_FLUSH_SECONDS": "3600"}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120)
    counting = (
        "import django; django.setup()\n"
        "from apikeys.records import usage\n"
        "for _ in range(5): usage.count('exitkey', usage.SUCCESS)\n"
        "usage.count('exitkey', usage.Refusal.WRONG_SECRET)\n"
    )
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    subprocess.run([sys.executable, "-c", counting], cwd=ROOT, env=env, check=True, timeout=60)

    import sqlite3

    with sqlite3.connect(database) as db:
        rows = dict(db.execute("SELECT outcome, count FROM apikeys_keyusage WHERE key_id = 'exitkey'").fetchall())
    assert rows == {"success": 5, "wrong_secret": 1}


def test_the_purge_prunes_counts_past_their_retention(alice, settings):
    settings.APIKEYS_USAGE_RETENTION_DAYS = 90
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    usage.store(
        {("k", hour_of(now - timedelta(days=91)), "success"): 3, ("k", hour_of(now - timedelta(days=89)), "success"): 4}
    )
    purge_api_keys()
    assert list(KeyUsage.objects.values_list("count", flat=True)) == [4]
    assert list(KeyUsageDay.objects.values_list("count", flat=True)) == [4]


# --- The API ---------------------------------------------------------------------------------------------------


def usage_of(api, user, key_id: str, **params):
    return api("GET", f"/_security/api_key/{key_id}/_usage", basic(user), **params)


def test_the_usage_api_answers_buckets_totals_and_last_use(api, alice):
    key = new_key(alice, "reported")
    for _ in range(4):
        api("GET", AUTH, apikey_header(key.encoded))
    api("GET", AUTH, apikey_header(wrong(key.encoded)))
    yesterday = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    usage.store({(key.key.id, hour_of(yesterday), "expired"): 2})

    answer = usage_of(api, alice, key.key.id)

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"id", "interval", "buckets", "total", "last_used"}
    assert body["id"] == key.key.id and body["interval"] == "1d" and len(body["buckets"]) == 30
    assert body["total"] == {"success": 4, "refused": {"expired": 2, "wrong_secret": 1}}
    today, before = body["buckets"][-1], body["buckets"][-2]
    assert today == {"start": today["start"], "success": 4, "refused": {"wrong_secret": 1}}
    assert before["refused"] == {"expired": 2} and body["buckets"][0]["refused"] == {}
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert today["start"] == int(midnight.timestamp() * 1000)
    assert all(
        b["start"] - a["start"] == 86_400_000 for a, b in zip(body["buckets"], body["buckets"][1:], strict=False)
    )
    assert body["last_used"] == int(ApiKey.objects.get(pk=key.key.id).last_used.timestamp() * 1000)


def test_the_usage_api_answers_hours(api, alice):
    key = new_key(alice, "hourly")
    api("GET", AUTH, apikey_header(key.encoded))
    body = usage_of(api, alice, key.key.id, days=2, interval="1h").json()
    assert body["interval"] == "1h" and len(body["buckets"]) == 48
    assert body["buckets"][-1]["success"] == 1 and body["last_used"] is not None


def test_a_key_never_used_has_zeros_and_no_last_use(api, alice):
    key = new_key(alice, "idle")
    body = usage_of(api, alice, key.key.id, days=7).json()
    assert body["total"] == {"success": 0, "refused": {}} and body["last_used"] is None and len(body["buckets"]) == 7


@pytest.mark.parametrize(
    "params, words",
    [
        ({"days": 0}, "[days] must be a whole number from 1 to 90, but was [0]"),
        ({"days": 91}, "but was [91]"),
        ({"days": "week"}, "but was [week]"),
        ({"days": -1}, "but was [-1]"),
        ({"interval": "1w"}, "[interval] must be one of [1h, 1d], but was [1w]"),
        ({"size": 3}, "request [/_security/api_key/"),
    ],
)
def test_bad_usage_parameters_are_refused(api, alice, params, words):
    key = new_key(alice, "k")
    answer = usage_of(api, alice, key.key.id, **params)
    assert answer.status_code == 400 and words in answer.json()["error"]["reason"]


def test_usage_is_visible_to_whoever_may_see_the_key(api, alice, bob, reader, charlie):
    key = new_key(alice, "private")
    assert usage_of(api, bob, key.key.id).status_code == 404
    assert usage_of(api, reader, key.key.id).status_code == 200
    assert usage_of(api, charlie, key.key.id).status_code == 403
    assert usage_of(api, alice, "no-such-key").status_code == 404
    assert api("GET", f"/_security/api_key/{key.key.id}/_usage").status_code == 401
    assert api("POST", f"/_security/api_key/{key.key.id}/_usage", basic(alice)).status_code == 405
    as_key = api("GET", f"/_security/api_key/{key.key.id}/_usage", apikey_header(key.encoded))
    assert as_key.status_code == 200


def test_last_used_can_be_queried_and_sorted(api, alice):
    used, idle = new_key(alice, "used"), new_key(alice, "idle")
    api("GET", AUTH, apikey_header(used.encoded))
    query = {"query": {"exists": {"field": "last_used"}}}
    found = api("POST", "/_security/_query/api_key", basic(alice), query).json()["api_keys"]
    assert [k["name"] for k in found] == ["used"]
    query = {"query": {"range": {"last_used": {"gte": "now-1h"}}}, "sort": [{"last_used": "desc"}]}
    found = api("POST", "/_security/_query/api_key", basic(alice), query).json()["api_keys"]
    assert [k["name"] for k in found] == ["used"]
    assert idle.key.id not in [k["id"] for k in found]


# --- "Not used" ------------------------------------------------------------------------------------------------


def test_not_used_counts_from_the_last_use_or_else_the_creation(alice, settings):
    settings.APIKEYS_UNUSED_DAYS = 90
    now = timezone.now()
    cases = {
        "used-91-days-ago": {"last_used": now - timedelta(days=91), "creation": now - timedelta(days=200)},
        "used-89-days-ago": {"last_used": now - timedelta(days=89), "creation": now - timedelta(days=200)},
        "made-91-days-ago": {"creation": now - timedelta(days=91)},
        "made-89-days-ago": {"creation": now - timedelta(days=89)},
        "expired-unused": {"creation": now - timedelta(days=200), "expiration": now - timedelta(days=1)},
        "invalidated-unused": {"creation": now - timedelta(days=200), "invalidated": True},
    }
    for name, fields in cases.items():
        key = new_key(alice, name).key
        ApiKey.objects.filter(pk=key.pk).update(**fields)
    rule = not_used()
    expected = ["made-91-days-ago", "used-91-days-ago"]
    assert sorted(k.name for k in ApiKey.objects.all() if rule.holds(k, timezone.now())) == expected
    assert sorted(ApiKey.objects.filter(rule.q(timezone.now())).values_list("name", flat=True)) == expected
    from apikeys.readmodels.listing import KeyFilters, KeyListing

    listing = KeyListing(Principal.for_user(alice), KeyFilters(status="unused"), "name", 1, 25)
    assert [k.name for k in listing.page_keys()] == expected and listing.counts["unused"] == 2


def test_beside_the_filter_not_used_is_counted_up_to_a_limit_and_chosen_exactly(admin, settings, monkeypatch):
    from django.test import Client

    from apikeys.readmodels import listing

    monkeypatch.setattr(listing, "COUNTED_UP_TO", 3)
    monkeypatch.setattr("apikeys.templatetags.console.COUNTED_UP_TO", 3)
    long_ago = timezone.now() - timedelta(days=settings.APIKEYS_UNUSED_DAYS + 1)
    for i in range(5):
        ApiKey.objects.filter(pk=new_key(admin, f"idle-{i}").key.pk).update(creation=long_ago)
    new_key(admin, "fresh")
    client = Client()
    client.force_login(admin)

    page = client.get("/api-keys/").content.decode()
    assert "Not used in 90 days (3+)</option>" in page and "Active (6)</option>" in page
    chosen = client.get("/api-keys/?status=unused").content.decode()
    rows = re.findall(r'<input type="checkbox" name="id" [^>]*aria-label="Select ([^"]+)"', chosen)
    assert "Not used in 90 days (5)</option>" in chosen and sorted(rows) == [f"idle-{i}" for i in range(5)]
    assert listing.count_up_to(ApiKey.objects.all(), 3) == 4 and listing.count_up_to(ApiKey.objects.none(), 3) == 0


def test_pruning_keeps_the_whole_day_the_retention_limit_falls_in(db, settings):
    settings.APIKEYS_USAGE_RETENTION_DAYS = 90
    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    limit = now - timedelta(days=90)  # 2026-09-03 15:00
    usage.store(
        {
            ("k", hour_of(limit.replace(hour=0)), "success"): 1,  # the limit's day, before it: kept with its day
            ("k", hour_of(limit.replace(hour=20)), "success"): 2,
            ("k", hour_of(limit - timedelta(days=1)), "success"): 4,  # the day before: gone, hours and day
        }
    )
    usage.prune(now)
    assert sorted(KeyUsage.objects.values_list("count", flat=True)) == [1, 2]
    assert list(KeyUsageDay.objects.values_list("day", "count")) == [(int(limit.timestamp()) // 86_400, 3)]
