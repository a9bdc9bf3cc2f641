"""Redis refusing, dying mid-run, or frozen: every call answers from the database, and a revocation made
meanwhile holds in every worker once Redis comes back with its old entries."""

from __future__ import annotations

import time

from tests.faults.conftest import basic
from tests.faults.servers import request


def api_key(encoded: str) -> str:
    return f"ApiKey {encoded}"


def statuses(url: str, auth: str, times: int = 20) -> set[int]:
    """What `times` requests answer (they spread over both workers)."""
    return {request(url + "/_security/_authenticate", auth=auth)[0] for _ in range(times)}


def test_with_redis_down_every_call_still_answers(start_app, sqlite_url, redis, figures):
    app = start_app(sqlite_url, redis.url)
    status, _, key = request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": "before"})
    assert status == 200
    assert statuses(app.url, api_key(key["encoded"])) == {200}

    redis.stop()  # dies mid-run
    answered = []
    started = time.monotonic()
    answered.append(request(app.url + "/_security/_authenticate", auth=api_key(key["encoded"]))[0])
    answered.append(request(app.url + "/_security/_authenticate", auth=basic("alice"))[0])
    answered.append(
        request(app.url + "/_security/_authenticate", auth="ApiKey " + "eHh4eHh4eHh4eHh4eHh4eHh4eHg6eXl5")[0]
    )
    status, _, during = request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": "during"})
    answered.append(status)
    answered.append(request(app.url + "/_security/_authenticate", auth=api_key(during["encoded"]))[0])
    status, _, gone = request(
        app.url + "/_security/api_key", "DELETE", basic("alice"), {"ids": [key["id"]], "owner": True}
    )
    answered.append(status)
    answered.append(request(app.url + "/_security/_authenticate", auth=api_key(key["encoded"]))[0])
    elapsed = time.monotonic() - started
    assert answered == [200, 200, 401, 200, 200, 200, 401]
    assert gone["invalidated_api_keys"] == [key["id"]]
    assert elapsed < 5, f"requests paid Redis's absence: {elapsed:.1f} s for 7"
    assert statuses(app.url, api_key(during["encoded"])) == {200}
    figures.update(sent=len(answered) + 20, server_errors=0, wrong=0, seconds_for_7=round(elapsed, 2))

    redis.start()  # back on the same port
    assert statuses(app.url, api_key(during["encoded"])) == {200}
    assert statuses(app.url, api_key(key["encoded"])) == {401}


def test_a_key_revoked_while_redis_is_frozen_is_refused_everywhere_after(start_app, sqlite_url, redis, figures):
    app = start_app(sqlite_url, redis.url)
    _, _, key = request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": "leaked"})
    auth = api_key(key["encoded"])
    assert statuses(app.url, auth) == {200}, "both workers (and Redis) have verified the key"

    redis.pause()
    try:
        started = time.monotonic()
        status, _, answer = request(
            app.url + "/_security/api_key", "DELETE", basic("alice"), {"ids": [key["id"]], "owner": True}
        )
        revoking = time.monotonic() - started
        assert status == 200 and answer["invalidated_api_keys"] == [key["id"]]
        assert revoking < 3, f"revocation waited {revoking:.1f} s for the frozen cache"
        figures.update(revocation_seconds=round(revoking, 2))
        assert statuses(app.url, auth) == {401}
    finally:
        redis.resume()  # with its old entries: the key's verified fingerprint among them

    assert statuses(app.url, auth) == {401}
    fresh = start_app(sqlite_url, redis.url)
    assert statuses(fresh.url, auth) == {401}
