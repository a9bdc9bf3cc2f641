"""Everything the app keeps in caches, and the protocol that keeps it true: every key prefix, the two tiers,
what is remembered (verified secrets and passwords, last-use marks, counts, failure counters, once-per-interval
claims) and how a change to keys forgets it.

Two tiers. `shared` is Django's cache: Redis in production, seen by every worker. `local` is this process's
own memory, a few seconds deep, in front of it, so that a warm request asks nobody.

The shared cache may be away (Redis down: see `redis_cache`): then every read of it is a miss and every
write is lost, and what must count or claim across processes (failure counters, last-use marks, counts'
generation, once-per-interval claims) is counted in this process instead (`shared_store`).

Remembered verifications are fingerprints: a fast keyed hash of the secret, salted with the stored hash, so
that nobody who reads the cache learns a secret, and a changed hash is a miss. They are never trusted alone:
verification reads the key's row on every request, so an invalidated or expired key is refused even while
a stale entry lingers in some process. That is why forgetting may happen after the response has gone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable
from functools import cache as memoize
from typing import Any

from django.conf import settings
from django.core.cache import cache as shared
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

from apikeys.domain import keys
from apikeys.infra.deferred import after_response

# Every name this app gives the shared cache starts with one of these.
VERIFIED = "apikeys:verified:"  # + key id: the fingerprint of its verified secret
PASSWORD = "apikeys:password:"  # + user pk: the fingerprint of a verified password
USED = "apikeys:used:"  # + key id: the moment its last-use mark lapses
COUNT = "apikeys:count:"  # + digest of (generation, what was counted)
FAILURES = "apikeys:failures:"  # + scope + window number: failed authentications
AUDITED = "apikeys:audited:"  # + scope + window number: the audit event counting that scope's failures
GENERATION = "apikeys:generation"
STATISTICS_DUE = "apikeys:statistics-due"
PURGE_DUE = "apikeys:purge-due"
METRICS_STATE = "apikeys:metrics-state"  # what the estate held when last read for the metrics

local = LocMemCache("apikeys-local", {"OPTIONS": {"MAX_ENTRIES": 5000}})
# Forgetting more keys than this empties the local tier instead: it holds only a few seconds' worth.
LOCAL_DELETES = 100
# How long a process trusts its own memory of a verified key before asking the shared cache again.
LOCAL_VERIFIED_SECONDS = 5
# Counting fewer rows than this is cheap: such answers are always computed afresh.
CACHE_FROM_ROWS = 1_000
COUNT_CACHE_SECONDS = 30


def shared_store() -> BaseCache:
    """The shared cache, or this process's own while the shared one is known to be away."""
    return shared if getattr(shared, "available", True) else local


# --- Verified secrets and passwords -------------------------------------------------------------------------


@memoize
def _salt() -> str:
    # The same in every worker (it derives from SECRET_KEY), unknown to whoever reads the cache.
    return hmac.new(settings.SECRET_KEY.encode(), b"apikeys-verified-cache", hashlib.sha256).hexdigest()


def fingerprint(secret: str, stored_hash: str) -> str:
    return keys.fingerprint(secret, _salt() + stored_hash)


def verified_key_name(key_id: str) -> str:
    return VERIFIED + key_id


def _local_verified_seconds() -> int:
    return min(LOCAL_VERIFIED_SECONDS, settings.APIKEYS_AUTH_CACHE_SECONDS)


def _remembers(store: BaseCache, name: str, fingerprint: str) -> bool:
    remembered = store.get(name)
    return remembered is not None and hmac.compare_digest(remembered, fingerprint)


def _recalls(name: str, fingerprint: str) -> bool:
    """Whether `name` remembers this fingerprint: this process first, then the shared cache (and this process
    from then on)."""
    if _remembers(local, name, fingerprint):
        return True
    if _remembers(shared, name, fingerprint):
        local.set(name, fingerprint, timeout=_local_verified_seconds())
        return True
    return False


def _remember(name: str, fingerprint: str) -> None:
    shared.set(name, fingerprint, timeout=settings.APIKEYS_AUTH_CACHE_SECONDS)
    local.set(name, fingerprint, timeout=_local_verified_seconds())


def recalls_key(key_id: str, fingerprint: str) -> bool:
    """Whether this secret of this key verified lately."""
    return _recalls(verified_key_name(key_id), fingerprint)


def remember_key(key_id: str, fingerprint: str) -> None:
    _remember(verified_key_name(key_id), fingerprint)


def recall_nothing(secret: str) -> None:
    """Ask both tiers what `recalls_key` asks, for a name that is no key id's: an unknown id then costs what a
    known one does, and nothing the caller sent becomes a cache key's name."""
    decoy = fingerprint(secret, "")
    _remembers(local, verified_key_name("unknown"), decoy)
    _remembers(shared, verified_key_name("unknown"), decoy)


def forget_keys(key_ids: Iterable[str]) -> None:
    """Forget verified secrets in the shared cache and in this process; other processes forget theirs within
    seconds, and meanwhile still compare the secret's fingerprint and read the key's row."""
    names = [verified_key_name(i) for i in key_ids]
    shared.delete_many(names)
    if len(names) > LOCAL_DELETES:
        local.clear()
    else:
        local.delete_many(names)


def recalls_password(user_id: int, fingerprint: str) -> bool:
    """Whether this password of this user verified lately."""
    return _recalls(f"{PASSWORD}{user_id}", fingerprint)


def remember_password(user_id: int, fingerprint: str) -> None:
    _remember(f"{PASSWORD}{user_id}", fingerprint)


# --- Last use ----------------------------------------------------------------------------------------------


def first_use_in_interval(key_id: str) -> bool:
    """True for the first use of a key in each `APIKEYS_LAST_USED_INTERVAL_SECONDS`, across every process.
    The shared mark holds the moment it lapses, and this process remembers that moment: until then it need
    not ask again."""
    mark = USED + key_id
    if local.get(mark) is not None:
        return False
    interval = settings.APIKEYS_LAST_USED_INTERVAL_SECONDS
    lapses = time.time() + interval
    store = shared_store()
    first = store.add(mark, lapses, timeout=interval)
    if not first:
        lapses = store.get(mark)  # another process's mark: None when it has just lapsed
    remaining = min(lapses - time.time(), interval) if isinstance(lapses, float) else 0
    if remaining > 0:
        local.set(mark, True, timeout=remaining)
    return first


# --- Counts, remembered until keys change ------------------------------------------------------------------


def generation() -> int:
    """A number every change to keys bumps (`keys_changed`), so remembered counts never outlive a change."""
    store = shared_store()
    value = store.get(GENERATION)
    if value is None:
        store.add(GENERATION, 1, timeout=None)
        value = store.get(GENERATION, 1)
    return value


def bump_generation() -> None:
    for store in {id(s): s for s in (shared_store(), local)}.values():  # this process's counts go too
        try:
            store.incr(GENERATION)
        except ValueError:
            store.add(GENERATION, 1, timeout=None)


def cached_count(parts: Any, compute: Callable[[], Any], rows: Callable[[Any], int] = lambda value: value) -> Any:
    """`compute()`, remembered until the next change to keys (or 30 s, for keys that expire meanwhile) when it
    counted many rows; small answers are recomputed every time."""
    digest = hashlib.sha256(json.dumps([generation(), parts], sort_keys=True, default=str).encode()).hexdigest()
    name = COUNT + digest
    store = shared_store()
    value = store.get(name)
    if value is None:
        value = compute()
        if rows(value) >= CACHE_FROM_ROWS:
            store.set(name, value, timeout=COUNT_CACHE_SECONDS)
    return value


def keys_changed(key_ids: list[str]) -> None:
    """Forget what the caches know of these keys once the change is committed: before that, the old state
    is still the truth. The counts go before the response, so the next page shows the change; the verified
    secrets after it (10,000 of them take a tenth of a second or more), which is safe (see above)."""

    def forget() -> None:
        bump_generation()
        after_response(lambda: forget_keys(key_ids))

    transaction.on_commit(forget)


def remembered(name: str, seconds: float, compute: Callable[[], Any]) -> Any:
    """`compute()`, read at most every `seconds` across every process (`METRICS_STATE`): what a change does not
    forget, stale by at most that long."""
    store = shared_store()
    value = store.get(name)
    if value is None:
        value = compute()
        if seconds > 0:
            store.set(name, value, timeout=seconds)
    return value


def shared_cache_state() -> str:
    """`up` or `down` for Redis (one round trip, none while its breaker is open), `local` without it."""
    if not hasattr(shared, "available"):
        return "local"
    shared.has_key(GENERATION)  # a failure opens the breaker; a success after an outage closes it
    return "up" if shared.available else "down"


# --- Once per interval, whichever process asks first ---------------------------------------------------------


def claim(name: str, seconds: int) -> bool:
    """True for the first caller in each `seconds` (`STATISTICS_DUE`, `PURGE_DUE`), across every process."""
    return shared_store().add(name, 1, timeout=seconds)


# --- Failure counters, in fixed windows -------------------------------------------------------------------


def count_in_window(*scopes: str, window: int, recall: tuple[str, ...] = ()) -> tuple[list[int], list[Any]]:
    """Count one occurrence of each scope in this fixed window of `window` seconds: how many so far, this one
    included (across every process; in this process alone while the shared cache is away); and what
    `remember_in_window` holds for each of `recall` in this window, read in the same trip."""
    bucket = int(time.time() // window)
    names = [f"{FAILURES}{scope}:{bucket}" for scope in scopes]
    recalled = [f"{AUDITED}{scope}:{bucket}" for scope in recall]
    store = shared_store()
    if hasattr(store, "count") and (counted := store.count(names, window + 1, recalled)) is not None:
        return counted  # Redis: one round trip for all of it
    counts = []
    for name in names:
        store.add(name, 0, timeout=window + 1)
        try:
            counts.append(store.incr(name))
        except ValueError:  # expired between add and incr, or the shared cache went away between them
            local.add(name, 0, timeout=window + 1)
            counts.append(local.incr(name))
    return counts, [store.get(name) for name in recalled]


def count_failure(scope: str, limit: int, window: int) -> int | None:
    """Count one failure for `scope`; the seconds to wait when it is over `limit` in this window, else None."""
    (failures,), _ = count_in_window(scope, window=window)
    return retry_after(failures, limit, window)


def retry_after(failures: int, limit: int, window: int) -> int | None:
    """The seconds until this window ends when `failures` is over `limit`, else None."""
    if failures <= limit:
        return None
    now = time.time()
    return max(1, int((int(now // window) + 1) * window - now))


def remember_in_window(scope: str, window: int, value: Any) -> None:
    shared_store().set(f"{AUDITED}{scope}:{int(time.time() // window)}", value, timeout=window + 1)


def is_throttled(scope: str, limit: int, window: int) -> int | None:
    """Seconds to wait when `scope` already failed more than `limit` times in this window, else None."""
    now = time.time()
    bucket = int(now // window)
    failures = shared_store().get(f"{FAILURES}{scope}:{bucket}", 0)
    return max(1, int((bucket + 1) * window - now)) if failures >= limit else None


def forget_failures(scope: str, window: int) -> None:
    name = f"{FAILURES}{scope}:{int(time.time() // window)}"
    shared_store().delete(name)
    local.delete(name)
