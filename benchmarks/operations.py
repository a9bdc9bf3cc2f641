"""Figures 1c and 1d: what the operator's view costs a request: Prometheus metrics (multiprocess mode, as under
gunicorn) and the JSON log's line per request, on against off, for a warm verified `GET /_security/_authenticate`.

On: the app as configured for this figure (`LOG_FORMAT=json`, `PROMETHEUS_MULTIPROC_DIR` set by `benchmarks.run`):
the request middleware (request id, the request counter and histogram, one JSON line to standard error, which the
run sends to a file) and the authentication and usage-backlog counts. Off: the same stack without the middleware,
and those counts replaced by no-ops: the app before issue 21.

1c times the two sides in one process, one request of each per round: the app's own code alone, without the server
around it. 1d serves each side as production does (`config/serve.py`: gunicorn, its workers, `config/gunicorn.py`;
the off side `benchmarks/operations_off.py`) on a loopback port, both up at once, and loads them with wrk (as figure
7), one after the other in each round, the order flipped every round: what an operator's capacity loses.

Run by `benchmarks.run` (through `benchmarks.launch`) with DATABASE_URL naming a throwaway database, which this
module migrates.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.test import override_settings

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.domain.privileges import validate_role_descriptor
from apikeys.infra import metrics
from apikeys.models import Role, User
from benchmarks import measure
from benchmarks.databases import LOG_DIR
from benchmarks.load import free_port, production_server
from benchmarks.throughput import Result, Target, wrk
from config import env

AUTHENTICATE = "/_security/_authenticate"
TARGET = 1.10
# Two sides that differ by microseconds: many rounds, so that the median ratio settles.
BUDGET_SECONDS = 4.0
MIDDLEWARE = "apikeys.infra.request_log.RequestMiddleware"
ON_APP = "config.wsgi:application"
OFF_APP, OFF_SETTINGS = "benchmarks.operations_off:application", "benchmarks.operations_off_settings"


def without_operations(call: Callable[[], None]) -> Callable[[], None]:
    """`call` with the authentication and usage-backlog counts as no-ops, for this request only (both are looked up
    on `apikeys.infra.metrics` at each request, so the swap takes effect at once)."""
    counted, backlog = metrics.authenticated, metrics.usage_backlog

    def uncounted(*args: object, **kwargs: object) -> None:
        pass

    def run() -> None:
        metrics.authenticated = metrics.usage_backlog = uncounted
        try:
            call()
        finally:
            metrics.authenticated, metrics.usage_backlog = counted, backlog

    return run


def main() -> None:
    assert settings.LOG_FORMAT == "json" and settings.PROMETHEUS_MULTIPROC_DIR, "run by benchmarks.run"
    assert MIDDLEWARE in settings.MIDDLEWARE
    call_command("migrate", verbosity=0, interactive=False)
    role = Role.objects.create(
        name="bench_key_owner",
        descriptor=validate_role_descriptor("bench_key_owner", {"cluster": ["manage_own_api_key"]}),
    )
    owner = User.objects.create_user("bench-owner", role_names=[role.name])
    created = services.create_api_key(Principal.for_user(owner), {"name": "bench-operations"})
    headers = {"Authorization": f"ApiKey {created.encoded}"}

    on = measure.expecting(measure.WsgiCaller(WSGIHandler()), 200, AUTHENTICATE, headers)
    with override_settings(MIDDLEWARE=[name for name in settings.MIDDLEWARE if name != MIDDLEWARE]):
        off = without_operations(measure.expecting(measure.WsgiCaller(WSGIHandler()), 200, AUTHENTICATE, headers))

    backend = measure.backend_label()
    in_process(on, off, backend)
    if shutil.which("wrk") is None:
        measure.note("Figure 1d not measured: wrk is not installed (`make bench` installs the Debian package).")
    else:
        served(headers, backend)


def in_process(on: Callable[[], None], off: Callable[[], None], backend: str) -> None:
    measured = measure.side_by_side(measure.timed(on), measure.timed(off), budget_seconds=BUDGET_SECONDS)
    case = "ssha256 verified 200: metrics + JSON request log on vs off"
    outcome = measure.record(measure.Outcome("1c", backend, case, measured.ratio, TARGET))
    measure.heading(f"Figure 1c — the operator's view on vs off, warm verification, in-process WSGI ({backend})")
    measure.table(
        ["A vs B", "A ms", "B ms", "A / B", "target", "result", "rounds"],
        [
            [
                case,
                measure.ms(measured.a_median),
                measure.ms(measured.b_median),
                measure.ratio(measured.ratio),
                f"≤ {TARGET:g}×",
                outcome.verdict,
                measured.rounds,
            ]
        ],
    )
    measure.note(
        "On: the request middleware (request id, `apikeys_http_requests_total` and its histogram, one JSON line per "
        "request written to the log file) and the authentication and usage-backlog counts, with prometheus-client "
        "in multiprocess mode (its counts written to files in `PROMETHEUS_MULTIPROC_DIR`, as under gunicorn). Off: "
        "no middleware, those counts no-ops. Same key, same warm path, one request of each per round."
    )


def served(headers: dict[str, str], backend: str) -> None:
    workers = env.integer("BENCH_WRK_WORKERS", 2 if backend == "SQLite" else 4)
    seconds = env.number("BENCH_WRK_SECONDS", 4.0)
    rounds = env.integer("BENCH_OPERATIONS_ROUNDS", 6)
    target = Target("valid key", AUTHENTICATE, headers)
    results: dict[str, list[Result]] = {"on": [], "off": []}
    label = backend.lower()
    with (
        tempfile.TemporaryDirectory(prefix="wrk-") as scratch,
        production_server(ON_APP, workers, free_port(), LOG_DIR / f"{label}-operations-on.log") as on,
        tempfile.TemporaryDirectory(prefix="metrics-off-") as off_metrics,  # not the on side's, which it empties
        production_server(
            OFF_APP,
            workers,
            free_port(),
            LOG_DIR / f"{label}-operations-off.log",
            OFF_SETTINGS,
            PROMETHEUS_MULTIPROC_DIR=off_metrics,
        ) as off,
    ):
        ports = {"on": on.port, "off": off.port}
        for port in ports.values():  # warm: each worker's connection, caches and compiled statements
            wrk(port, target, 1, Path(scratch))
        for round_ in range(rounds):
            for side in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
                results[side].append(wrk(ports[side], target, seconds, Path(scratch)))
    # Cost as the figure's other ratios: on's time per request over off's, i.e. off's requests per second over on's.
    value = statistics.median(
        b.requests_per_second / a.requests_per_second for a, b in zip(results["on"], results["off"], strict=True)
    )
    case = "ssha256 verified 200 under wrk: metrics + JSON request log on vs off"
    outcome = measure.record(measure.Outcome("1d", backend, case, value, TARGET))
    wrong = sum(r.statuses_wrong for side in results.values() for r in side)
    errors = measure.record(measure.Outcome("1d", backend, "answers not as expected", wrong, 0, "answers"))
    measure.heading(
        f"Figure 1d — the operator's view on vs off, served by gunicorn, {workers} workers, wrk ({backend})"
    )

    def rate(side: str) -> str:
        return f"{statistics.median(r.requests_per_second for r in results[side]):,.0f}"

    def p99(side: str) -> str:
        return f"{statistics.median(r.p99_ms for r in results[side]):.2f} ms"

    measure.table(
        ["A vs B", "A req/s", "B req/s", "A p99", "B p99", "cost A / B", "target", "result", "rounds"],
        [
            [
                case,
                rate("on"),
                rate("off"),
                p99("on"),
                p99("off"),
                measure.ratio(value),
                f"≤ {TARGET:g}×",
                outcome.verdict,
                rounds,
            ]
        ],
    )
    measure.note(
        f"wrk 1 thread, 16 connections, {seconds:g} s per side per round, the order flipped every round; the cost is "
        "the median over rounds of off's requests per second over on's. On: `config.wsgi` with `LOG_FORMAT=json` "
        "(no gunicorn access log; the app's line per request, to the server's log file) and the metrics in "
        "`PROMETHEUS_MULTIPROC_DIR`. Off: `benchmarks/operations_off.py` (no request middleware, the counts "
        f"no-ops), also without an access log. Unexpected statuses: {errors.value:g} ({errors.verdict})."
    )
