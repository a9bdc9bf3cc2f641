"""Figures 1 and 2: what verifying an API key costs, in-process through the whole WSGI stack.

1. A verified `GET /_security/_authenticate` against the same request refused 401 (unknown key id): with a
   warm cache, verifying must cost little more than refusing. Again with argon2id hashes, whose warm path
   must be as fast as ssha256's.
1b. The same warm verified request with usage counting (`apikeys.records.usage.count`) on and replaced by a no-op:
   counting is a dictionary increment under a lock and must cost the request next to nothing.
2. The same verified request against a tiny DRF view guarded by djangorestframework-api-key's `HasAPIKey`
   (SHA-512, no cache), on the same Django stack: ours must be no slower.

Run by `benchmarks.run` (through `benchmarks.launch`) with DJANGO_SETTINGS_MODULE=benchmarks.drf_settings and
DATABASE_URL naming a throwaway database, which this module migrates.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.test import override_settings
from rest_framework_api_key.models import APIKey

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.domain import keys
from apikeys.domain.privileges import validate_role_descriptor
from apikeys.infra import caching
from apikeys.models import Role, User
from apikeys.records import usage
from benchmarks.drf_urls import DRF_PATH
from benchmarks.measure import (
    Outcome,
    UnexpectedAnswer,
    WsgiCaller,
    backend_label,
    expecting,
    heading,
    ms,
    note,
    ratio,
    record,
    side_by_side,
    table,
    timed,
)

AUTHENTICATE = "/_security/_authenticate"
VERIFY_VS_REFUSE_TARGET = 1.3
# "As fast as": the warm paths are the same code, so only noise may separate them.
ARGON2_WARM_TARGET = 1.1
DRF_TARGET = 1.0
COUNTING_TARGET = 1.05
# Two sides that differ by microseconds: more rounds than the other comparisons, so the median ratio settles.
COUNTING_BUDGET_SECONDS = 4.0
BUDGET_SECONDS = 2.0
UNKNOWN_CALLERS = 10_000


def refusing(caller: WsgiCaller) -> Callable[[], None]:
    """An unknown key id from a client address not seen before: the plain 401 path every time, never the 429
    that failure counting (per key id and per client address) answers to someone who keeps guessing."""
    unknown = [
        (
            {"Authorization": f"ApiKey {keys.encode(keys.generate_id(), keys.generate_secret())}"},
            f"127.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
        )
        for n in range(1, UNKNOWN_CALLERS + 1)
    ]
    callers = itertools.cycle(unknown)

    def call() -> None:
        headers, address = next(callers)
        code, body = caller("GET", AUTHENTICATE, headers, remote_addr=address)
        if code != 401:
            raise UnexpectedAnswer(f"GET {AUTHENTICATE} with an unknown key answered {code}: {body[:300]!r}")

    return call


def counting(call: Callable[[], None], on: bool) -> Callable[[], None]:
    """`call` with `usage.count` as the app has it (on) or replaced by a no-op (off), for this request only;
    `auth.py` looks it up on the module at each request, so the swap takes effect at once."""
    real = usage.count

    def no_op(key_id: str, outcome: str) -> None:
        pass

    def run() -> None:
        usage.count = real if on else no_op
        try:
            call()
        finally:
            usage.count = real

    return run


def create_key(owner: User, name: str, algorithm: str) -> services.CreatedKey:
    with override_settings(APIKEYS_HASH_ALGORITHM=algorithm):
        created = services.create_api_key(Principal.for_user(owner), {"name": name})
    assert created.key.hash.startswith(keys.SSHA256_PREFIX if algorithm == "ssha256" else keys.ARGON2_PREFIX)
    return created


def main() -> None:
    call_command("migrate", verbosity=0, interactive=False)
    role = Role.objects.create(
        name="bench_key_owner",
        descriptor=validate_role_descriptor("bench_key_owner", {"cluster": ["manage_own_api_key"]}),
    )
    owner = User.objects.create_user("bench-owner", role_names=[role.name])
    ssha256 = create_key(owner, "bench-ssha256", "ssha256")
    argon2id = create_key(owner, "bench-argon2id", "argon2id")
    _, drf_key = APIKey.objects.create_key(name="bench-drf")

    caller = WsgiCaller(WSGIHandler())
    backend = backend_label()
    ours_ok = expecting(caller, 200, AUTHENTICATE, {"Authorization": f"ApiKey {ssha256.encoded}"})
    argon2_ok = expecting(caller, 200, AUTHENTICATE, {"Authorization": f"ApiKey {argon2id.encoded}"})
    refused = refusing(caller)
    drf_ok = expecting(caller, 200, DRF_PATH, {"Authorization": f"Api-Key {drf_key}"})

    def cold(call: Callable[[], None], key_id: str) -> Callable[[], None]:
        def evicted_first() -> None:
            caching.forget_keys([key_id])
            call()

        return evicted_first

    def compare(
        figure: str,
        case: str,
        a: Callable[[], None],
        b: Callable[[], None],
        target: float | None,
        budget: float = BUDGET_SECONDS,
    ) -> list:
        measured = side_by_side(timed(a), timed(b), budget_seconds=budget)
        a_ms, b_ms, value = ms(measured.a_median), ms(measured.b_median), measured.ratio
        if target is None:
            return [case, a_ms, b_ms, ratio(value), "(info)", "", measured.rounds]
        outcome = record(Outcome(figure, backend, case, value, target))
        return [case, a_ms, b_ms, ratio(value), f"≤ {target:g}×", outcome.verdict, measured.rounds]

    headers = ["A vs B", "A ms", "B ms", "A / B", "target", "result", "rounds"]
    heading(f"Figure 1 — verify vs refuse, in-process WSGI, warm cache ({backend})")
    rows = [compare("1", "ssha256: verified 200 vs unknown id 401", ours_ok, refused, VERIFY_VS_REFUSE_TARGET)]
    with override_settings(APIKEYS_HASH_ALGORITHM="argon2id"):
        rows.append(
            compare("1", "argon2id: verified 200 vs unknown id 401", argon2_ok, refused, VERIFY_VS_REFUSE_TARGET)
        )
    rows.append(compare("1", "argon2id verified 200 vs ssha256 verified 200", argon2_ok, ours_ok, ARGON2_WARM_TARGET))
    rows.append(
        compare(
            "1",
            "cold (cache evicted first): argon2id vs ssha256",
            cold(argon2_ok, argon2id.key.id),
            cold(ours_ok, ssha256.key.id),
            None,
        )
    )
    table(headers, rows)
    note(
        "Each refusal names a fresh unknown key id from a fresh client address, so it is the plain 401 path "
        "(dummy verification with the configured algorithm, failure counters, audit event), never a 429. "
        "Under argon2id a refusal therefore costs a full argon2 hash, while a warm verification costs none. "
        "ms: each side's median; A / B: the median of the per-round ratios (one request of each, back to back)."
    )

    heading(f"Figure 1b — usage counting on vs off, warm verification, in-process WSGI ({backend})")
    on, off = counting(ours_ok, on=True), counting(ours_ok, on=False)
    case = "ssha256 verified 200: counting on vs `usage.count` a no-op"
    table(headers, [compare("1b", case, on, off, COUNTING_TARGET, COUNTING_BUDGET_SECONDS)])
    note(
        "Counting on: each success adds one to this process's counter (key, hour, outcome), and at most every "
        "`APIKEYS_USAGE_FLUSH_SECONDS` a request's `request_finished` writes the counts (inside the timed call "
        "here, after the response under a server). Off: `apikeys.records.usage.count` replaced by a no-op in this "
        "process only. Same key, same warm path, one request of each per round."
    )

    heading(f"Figure 2 — ours vs djangorestframework-api-key `HasAPIKey`, same stack, same run ({backend})")
    table(headers, [compare("2", "ours (ApiKey, ssha256) vs DRF HasAPIKey (SHA-512)", ours_ok, drf_ok, DRF_TARGET)])
    note(
        f"Ours answers the full `{AUTHENTICATE}` body (user, roles, realm, key); the DRF view answers "
        '`{"authenticated": true}` and does nothing else.'
    )
