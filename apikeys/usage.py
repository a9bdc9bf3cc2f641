"""Usage per key: every authentication outcome attributable to a key (success, or why it was refused) counted
per key, hour and outcome.

Counting costs the request a dictionary increment under a lock: no I/O. Each process adds its counts to
`KeyUsage` (one upsert statement) at most every `APIKEYS_USAGE_FLUSH_SECONDS`, after a response has gone, and
at exit; a crash loses at most that interval's counts. Counts a flush could not write are kept for the next
one. Nothing here touches Redis, so counting goes on whatever the cache does.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.models.functions import Cast, Substr
from django.utils import timezone

from .deferred import after_response
from .models import KeyUsage

log = logging.getLogger(__name__)

SUCCESS = "success"


class Refusal(models.TextChoices):
    """Why a request with a known key id was refused, as counted."""

    WRONG_SECRET = "wrong_secret", "Wrong secret"
    EXPIRED = "expired", "Expired"
    INVALIDATED = "invalidated", "Invalidated"
    WRONG_TYPE = "wrong_type", "Wrong type"
    OWNER_DISABLED = "owner_disabled", "Owner disabled"
    THROTTLED = "throttled", "Throttled"


HOUR = 3600
_lock = threading.Lock()
_pending: Counter[tuple[str, int, str]] = Counter()  # (key id, hour as epoch seconds, outcome) -> count
_state = {"last_flush": time.monotonic(), "scheduled": False}


def count(key_id: str, outcome: str) -> None:
    """Count one outcome for a key now; schedule a flush after the response when one is due."""
    hour = int(time.time()) // HOUR * HOUR
    with _lock:
        _pending[(key_id, hour, outcome)] += 1
        due = (
            not _state["scheduled"] and time.monotonic() - _state["last_flush"] >= settings.APIKEYS_USAGE_FLUSH_SECONDS
        )
        if due:
            _state["scheduled"] = True
    if due:
        after_response(flush)


def flush() -> int:
    """Add this process's counts to the table; the number of rows written. Counts that cannot be written (the
    database away) are put back for the next flush."""
    with _lock:
        taken = dict(_pending)
        _pending.clear()
        _state["last_flush"] = time.monotonic()
        _state["scheduled"] = False
    if not taken:
        return 0
    try:
        _add(taken)
    except DatabaseError:
        with _lock:
            _pending.update(taken)
        raise
    return len(taken)


def _add(counts: dict[tuple[str, int, str], int]) -> None:
    table = connection.ops.quote_name(KeyUsage._meta.db_table)
    rows = [
        (key_id, connection.ops.adapt_datetimefield_value(datetime.fromtimestamp(hour, UTC)), outcome, n)
        for (key_id, hour, outcome), n in sorted(counts.items())  # one order: concurrent flushes cannot deadlock
    ]
    statement = (
        f"INSERT INTO {table} (key_id, hour, outcome, count) VALUES (%s, %s, %s, %s) "
        f"ON CONFLICT (key_id, hour, outcome) DO UPDATE SET count = {table}.count + excluded.count"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(statement, rows)


def _flush_at_exit() -> None:
    try:
        flush()
    except Exception:  # exiting: say what was lost, never raise
        log.exception("usage counts could not be written at exit")


atexit.register(_flush_at_exit)


def prune(now: datetime | None = None) -> int:
    """Delete counts older than `APIKEYS_USAGE_RETENTION_DAYS`."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.APIKEYS_USAGE_RETENTION_DAYS)
    deleted, _ = KeyUsage.objects.filter(hour__lt=cutoff).delete()
    return deleted


INTERVALS = {"1h": HOUR, "1d": 24 * HOUR}


@dataclass
class Bucket:
    start: datetime
    success: int = 0
    refused: Counter[str] = field(default_factory=Counter)

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())

    @property
    def total(self) -> int:
        return self.success + self.refused_total


def buckets(key_id: str, days: int, interval: str, now: datetime | None = None) -> list[Bucket]:
    """The key's counts over the last `days`, in buckets of `interval` (`1h` or `1d`, whole UTC hours or days),
    oldest first, every bucket present (zeros included). This process's counts are written first."""
    with contextlib.suppress(DatabaseError):  # the reading below fails the same way, and says so
        flush()
    size = INTERVALS[interval]
    now = now or timezone.now()
    last = int(now.timestamp()) // size * size
    first = last - (days * 24 * HOUR // size - 1) * size
    start = datetime.fromtimestamp(first, UTC)
    found = {
        first + i * size: Bucket(datetime.fromtimestamp(first + i * size, UTC))
        for i in range((last - first) // size + 1)
    }
    rows = KeyUsage.objects.filter(key_id=key_id, hour__gte=start).values_list("hour", "outcome", "count")
    for hour, outcome, n in rows:
        bucket = found.get(int(hour.timestamp()) // size * size)
        if bucket is None:
            continue
        if outcome == SUCCESS:
            bucket.success += n
        else:
            bucket.refused[outcome] += n
    return list(found.values())


def daily_totals(key_ids: list[str], days: int, now: datetime | None = None) -> dict[str, list[int]]:
    """Requests per day (successes and refusals) over the last `days` for each key: one grouped statement for
    any number of keys (the list's sparklines). The day is the text of the hour's first ten characters
    (`2026-12-01`, UTC on both databases): SQLite's TruncDay calls a Python function per row, 10× slower."""
    now = now or timezone.now()
    first = (now - timedelta(days=days - 1)).date()
    index = {(first + timedelta(days=i)).isoformat(): i for i in range(days)}
    totals = {key_id: [0] * days for key_id in key_ids}
    if not key_ids:
        return totals
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    rows = (
        KeyUsage.objects.filter(key_id__in=key_ids, hour__gte=start)
        .annotate(day=Substr(Cast("hour", models.TextField()), 1, 10))
        .values_list("key_id", "day")
        .annotate(n=models.Sum("count"))
        .order_by()
    )
    for key_id, day, n in rows:
        if day in index:
            totals[key_id][index[day]] += n
    return totals
