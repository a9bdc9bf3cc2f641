"""Usage per key: every authentication outcome attributable to a key (success, or why it was refused) counted
per key, hour and outcome.

Counting costs the request a dictionary increment under a lock: no I/O. Each process adds its counts to
`KeyUsage` and their daily sums to `KeyUsageDay` (`store`: two upserts, one transaction) at most every
`APIKEYS_USAGE_FLUSH_SECONDS`, after a response has gone, and at exit; a crash loses at most that interval's
counts. Counts a flush could not write are kept for the next one. Nothing here touches Redis, so counting goes
on whatever the cache does.
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
from django.db import DatabaseError, models, transaction
from django.utils import timezone

from apikeys.infra import fast_rows, metrics
from apikeys.infra.deferred import after_response
from apikeys.models import ApiKey, KeyUsage, KeyUsageDay

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
    MALFORMED = "malformed", "Malformed"
    IP_NOT_ALLOWED = "ip_not_allowed", "IP not allowed"


HOUR, DAY = 3600, 86_400
_lock = threading.Lock()
_pending: Counter[tuple[str, int, str]] = Counter()  # (key id, hour as epoch seconds, outcome) -> count
_state = {"last_flush": time.monotonic(), "scheduled": False, "held": 0}  # held: the counts in `_pending`


def count(key_id: str, outcome: str) -> None:
    """Count one outcome for a key now; schedule a flush after the response when one is due."""
    hour = int(time.time()) // HOUR * HOUR
    with _lock:
        _pending[(key_id, hour, outcome)] += 1
        _state["held"] += 1
        held = _state["held"]
        due = (
            not _state["scheduled"] and time.monotonic() - _state["last_flush"] >= settings.APIKEYS_USAGE_FLUSH_SECONDS
        )
        if due:
            _state["scheduled"] = True
    metrics.usage_backlog(held)
    if due:
        after_response(flush)


def held() -> int:
    """The counts this process holds, not yet written (published to the metrics at once)."""
    with _lock:
        _state["held"] = sum(_pending.values())
        total = _state["held"]
    metrics.usage_backlog(total, at_once=True)
    return total


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
        store(_of_existing_keys(taken))
    except DatabaseError:
        with _lock:
            _pending.update(taken)
        raise
    finally:
        held()
    return len(taken)


def _of_existing_keys(counts: dict[tuple[str, int, str], int]) -> dict[tuple[str, int, str], int]:
    """Malformed credentials are counted before anything is read, so their key ids are only claims: those of no
    key are dropped here, after the response, so that a flood of made-up ids writes nothing."""
    claimed = list({key_id for key_id, _, outcome in counts if outcome == Refusal.MALFORMED})
    known: set[str] = set()
    for start in range(0, len(claimed), 500):
        known.update(ApiKey.objects.filter(pk__in=claimed[start : start + 500]).values_list("pk", flat=True))
    return {count: n for count, n in counts.items() if count[2] != Refusal.MALFORMED or count[0] in known}


def store(counts: dict[tuple[str, int, str], int]) -> None:
    """Add counts, (key id, hour as epoch seconds, outcome) -> n, to the hourly table and their sums to the daily
    one, in one transaction: a failure writes neither."""
    days: Counter[tuple[str, int]] = Counter()
    for (key_id, hour, _), n in counts.items():
        days[(key_id, hour // DAY)] += n
    hourly = [
        (key_id, datetime.fromtimestamp(hour, UTC), outcome, n)
        for (key_id, hour, outcome), n in sorted(counts.items())  # one order: concurrent flushes cannot deadlock
    ]
    daily = [(key_id, day, n) for (key_id, day), n in sorted(days.items())]
    with transaction.atomic():
        fast_rows.add_counts(KeyUsage, ["key_id", "hour", "outcome"], hourly)
        fast_rows.add_counts(KeyUsageDay, ["key_id", "day"], daily)


def _flush_at_exit() -> None:
    try:
        flush()
    except Exception:  # exiting: say what was lost, never raise
        log.exception("usage counts could not be written at exit")


atexit.register(_flush_at_exit)


def prune(now: datetime | None = None) -> int:
    """Delete counts older than `APIKEYS_USAGE_RETENTION_DAYS`, by whole UTC days (the day the limit falls in is
    kept), so that each day kept holds the sum of the hours kept. The number of hourly rows deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.APIKEYS_USAGE_RETENTION_DAYS)
    first_day = int(cutoff.timestamp()) // DAY
    deleted, _ = KeyUsage.objects.filter(hour__lt=datetime.fromtimestamp(first_day * DAY, UTC)).delete()
    KeyUsageDay.objects.filter(day__lt=first_day).delete()
    return deleted


INTERVALS = {"1h": HOUR, "1d": DAY}


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
    first = last - (days * DAY // size - 1) * size
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
    """Requests per day (successes and refusals) over the last `days` UTC days for each key: one statement for any
    number of keys (the list's sparklines: see `fast_rows.day_counts`)."""
    first = int((now or timezone.now()).timestamp()) // DAY - (days - 1)
    totals = {key_id: [0] * days for key_id in key_ids}
    for key_id, day, n in fast_rows.day_counts(key_ids, first):
        if day - first < days:
            totals[key_id][day - first] += n
    return totals
