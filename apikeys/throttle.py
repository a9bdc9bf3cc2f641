"""Failure counters in the shared cache, in fixed windows: many failures answer 429 with Retry-After.

Only failures are counted and a success is never refused, so a valid key holder is never locked out by
someone guessing at its key id; the guesser is slowed down and logged."""

from __future__ import annotations

import time

from django.core.cache import cache


def count_failure(scope: str, limit: int, window: int) -> int | None:
    """Count one failure for `scope`; the seconds to wait when it is over `limit` in this window, else None."""
    now = time.time()
    bucket = int(now // window)
    key = f"apikeys:failures:{scope}:{bucket}"
    cache.add(key, 0, timeout=window + 1)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 1)
        failures = 1
    if failures > limit:
        return max(1, int((bucket + 1) * window - now))
    return None


def is_throttled(scope: str, limit: int, window: int) -> int | None:
    """Seconds to wait when `scope` already failed more than `limit` times in this window, else None."""
    now = time.time()
    bucket = int(now // window)
    failures = cache.get(f"apikeys:failures:{scope}:{bucket}", 0)
    return max(1, int((bucket + 1) * window - now)) if failures >= limit else None


def forget(scope: str, window: int) -> None:
    cache.delete(f"apikeys:failures:{scope}:{int(time.time() // window)}")
