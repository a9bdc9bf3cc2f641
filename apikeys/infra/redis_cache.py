"""The shared cache (Redis) as a convenience, never a dependency: Django's Redis cache behind a breaker.

Every operation gets short connect and read timeouts and no retries. When one fails (refused, timed out,
dropped), the breaker opens: for `APIKEYS_CACHE_RETRY_SECONDS` this process answers every cache call at once
as a miss (reads give their default, writes do nothing), and then lets one call through to try again. The
app answers from the database meanwhile; `caching.shared_store()` hands the per-process tier to what must
count (failure counters, once-per-interval claims). One warning per outage, one line when it ends.

When Redis answers again after an outage, its old entries are not trusted: a session deleted at sign-out, or
counts made stale, while it was away could otherwise come back. The process that sees it return empties it
once (its own database of Redis: `REDIS_URL` should not be shared with other programs). Verified keys never
needed that (every request reads the key's row), but they go too, and are verified afresh.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

log = logging.getLogger(__name__)

# A read of a default, in each method's signature: get(key, default=None), get_many(keys), has_key(key).
_MISS = object()


class Breaker:
    """One per process and Redis location (cache backends are per thread; an outage is the process's news)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_since: float | None = None
        self.retry_at = 0.0

    def allows(self) -> bool:
        return self.down_since is None or time.monotonic() >= self.retry_at

    def failed(self, location: str, error: Exception) -> None:
        with self.lock:
            now = time.monotonic()
            if self.down_since is None:
                self.down_since = now
                log.warning(
                    "shared cache %s unavailable (%s: %s): answering from the database, retrying every %s s",
                    location,
                    type(error).__name__,
                    error,
                    settings.APIKEYS_CACHE_RETRY_SECONDS,
                )
            self.retry_at = now + settings.APIKEYS_CACHE_RETRY_SECONDS

    def succeeded(self) -> float | None:
        """Close the breaker; how long the outage lasted when this ends one (None otherwise)."""
        if self.down_since is None:
            return None
        with self.lock:
            if self.down_since is None:
                return None
            lasted, self.down_since = time.monotonic() - self.down_since, None
            return lasted


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(location: str) -> Breaker:
    with _breakers_lock:
        return _breakers.setdefault(location, Breaker())


class ReusingClient(RedisCacheClient):
    """Django's client makes a new `redis.Redis` for every call, whose set-up (about 170 response callbacks)
    cost a tenth of a millisecond each time: one per connection pool is enough (they are thread-safe)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]):
        options = dict(params.get("OPTIONS") or {})
        timeout = settings.APIKEYS_CACHE_TIMEOUT_SECONDS
        options.setdefault("socket_connect_timeout", timeout)
        options.setdefault("socket_timeout", timeout)
        options.setdefault("retry", Retry(NoBackoff(), 0))  # the breaker decides when to try again
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = ReusingClient
        self.location = server if isinstance(server, str) else ",".join(server)
        self.breaker = breaker_for(self.location)

    @property
    def available(self) -> bool:
        """Whether this process takes the shared cache to be there (no network call)."""
        return self.breaker.down_since is None

    def _call(self, name: str, fallback: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.breaker.allows():
            return fallback
        try:
            result = getattr(super(), name)(*args, **kwargs)
        except RedisError as error:
            self.breaker.failed(self.location, error)
            return fallback
        lasted = self.breaker.succeeded()
        if lasted is not None:
            self._after_outage(lasted)
        return result

    def _after_outage(self, lasted: float) -> None:
        try:
            super().clear()
        except RedisError as error:
            self.breaker.failed(self.location, error)
            return
        log.warning("shared cache %s back after %.1f s; emptied of what it held before", self.location, lasted)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._call("get", default, key, default, version)

    def get_many(self, keys: Any, version: int | None = None) -> dict:
        return self._call("get_many", {}, keys, version)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._call("has_key", False, key, version)

    def set(self, key: Any, value: Any, timeout: Any = _MISS, version: int | None = None) -> None:
        args = (key, value) if timeout is _MISS else (key, value, timeout)
        self._call("set", None, *args, version=version)

    def add(self, key: Any, value: Any, timeout: Any = _MISS, version: int | None = None) -> bool:
        args = (key, value) if timeout is _MISS else (key, value, timeout)
        return self._call("add", False, *args, version=version)

    def touch(self, key: Any, timeout: Any = _MISS, version: int | None = None) -> bool:
        args = (key,) if timeout is _MISS else (key, timeout)
        return self._call("touch", False, *args, version=version)

    def set_many(self, data: dict, timeout: Any = _MISS, version: int | None = None) -> list:
        args = (data,) if timeout is _MISS else (data, timeout)
        return self._call("set_many", list(data), *args, version=version)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._call("delete", False, key, version)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._call("delete_many", None, keys, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # A miss answers as Django's caches do for a missing key (callers start the count afresh).
        result = self._call("incr", _MISS, key, delta, version)
        if result is _MISS:
            raise ValueError(f"Key '{key}' not found (the shared cache is unavailable)")
        return result

    def clear(self) -> None:
        self._call("clear", None)

    def count(self, keys: list[Any], timeout: int, also_get: list[Any]) -> tuple[list[int], list[Any]] | None:
        """Add one to each counter (made to lapse `timeout` seconds after it is first counted) and read the
        keys of `also_get`, in one round trip: the counters' new values and what was read (None while Redis is
        away). Django's `add` then `incr` take three trips per counter (`incr` checks first that the key
        exists), and counting is what each of a flood of bad keys costs."""
        if not self.breaker.allows():
            return None
        names = [self.make_and_validate_key(key) for key in keys]
        try:
            pipeline = self._cache.get_client(names[0], write=True).pipeline(transaction=False)
            for name in names:
                pipeline.set(name, 0, ex=timeout, nx=True)
                pipeline.incr(name)
            for key in also_get:
                pipeline.get(self.make_and_validate_key(key))
            answers = pipeline.execute()
        except RedisError as error:
            self.breaker.failed(self.location, error)
            return None
        lasted = self.breaker.succeeded()
        if lasted is not None:
            self._after_outage(lasted)
        counts = answers[1 : 2 * len(names) : 2]
        loads = self._cache._serializer.loads
        read = [None if value is None else loads(value) for value in answers[2 * len(names) :]]
        return counts, read
