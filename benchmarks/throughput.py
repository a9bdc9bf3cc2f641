"""Figure 7: requests per second as a user would load them, with wrk (1 thread, 16 connections, keep-alive).

The production server (`config/serve.py`, as `make serve` runs it) with BENCH_WRK_WORKERS workers (2 on SQLite,
4 on PostgreSQL) serves, on a free loopback port, a copy of the 1,000-key estate in which a fresh superuser owns
ten keys. wrk asks, one after the other for BENCH_WRK_SECONDS each: a hello-world WSGI app under the same server
(the server's own ceiling), a bare Django view (`benchmarks/wrk_app.py`: the app's settings and middleware, on
the API's path, nothing behind it), `_authenticate` without credentials (401), `_authenticate` with one of the
keys (warm), that owner's key list, and a query. The whole sequence runs BENCH_WRK_ROUNDS times, and each
figure is the median of its rounds, so a neighbour's burst on the machine skews one round, not the figure.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.models import User
from benchmarks.databases import LOG_DIR
from benchmarks.load import HOST, free_port, production_server
from benchmarks.measure import Outcome, backend_label, heading, note, record, table
from benchmarks.wrk_app import BARE_PATH
from config import env, serve

OWNER = "wrk-owner"
OWNED_KEYS = 10
QUERY = {"query": {"prefix": {"name": "wrk-"}}, "sort": ["name"], "size": 10}
# Floors, as ratios of requests per second measured in the same round (issue 22).
FLOORS = {"401 vs bare view": 0.6, "valid key vs 401": 0.8, "key list vs valid key": 0.6}
# Ceilings on p99 (ms): the issue's own measurement of SQLite with 2 gunicorn workers before the work.
P99_CEILINGS = {"401": 8.8, "valid key": 19.1, "key list": 38.4}


@dataclass(frozen=True)
class Target:
    label: str
    path: str
    headers: dict[str, str]
    method: str = "GET"
    body: str = ""
    status: int = 200
    app: str = "config.wsgi:application"


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    statuses_wrong: int


def wrk(port: int, target: Target, seconds: float, scratch: Path) -> Result:
    script = scratch / f"{target.label.replace(' ', '-')}.lua"
    lines = [f"wrk.method = {json.dumps(target.method)}", f"wrk.body = {json.dumps(target.body)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in target.headers.items()]
    # Count the answers that are not the expected status (wrk's own "Non-2xx" cannot tell a 401 from a 500).
    lines += [
        "wrong = 0",
        f"function response(status, headers, body) if status ~= {target.status} then wrong = wrong + 1 end end",
        'function done(summary, latency, requests) io.write("wrong: " .. wrong .. "\\n") end',
    ]
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    command = ["wrk", "-t1", "-c16", f"-d{seconds:g}s", "--latency", "-s", str(script)]
    output = subprocess.run(
        [*command, f"http://{HOST}:{port}{target.path}"], capture_output=True, text=True, check=True
    ).stdout
    return Result(
        float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        _latency(output, "50%"),
        _latency(output, "99%"),
        int(re.search(r"wrong: (\d+)", output).group(1)),
    )


def _latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def prepare() -> tuple[str, str]:
    """A fresh superuser with ten keys: the Authorization header of one, and the query's body."""
    owner = User.objects.create_superuser(OWNER, email="", password=None)
    principal = Principal.for_user(owner)
    created = [services.create_api_key(principal, {"name": f"wrk-{n}"}) for n in range(OWNED_KEYS)]
    return f"ApiKey {created[0].encoded}", json.dumps(QUERY)


def targets(authorization: str, query: str) -> list[Target]:
    key = {"Authorization": authorization}
    return [
        Target("hello-world WSGI", "/", {}, app="benchmarks.wrk_app:hello"),
        Target("bare view", BARE_PATH, {}),
        Target("401", "/_security/_authenticate", {}, status=401),
        Target("valid key", "/_security/_authenticate", key),
        Target("key list", "/_security/api_key?owner=true", key),
        Target("query", "/_security/_query/api_key", {**key, "Content-Type": "application/json"}, "POST", query),
    ]


def measure(workers: int, seconds: float, rounds: int) -> dict[str, list[Result]]:
    results: dict[str, list[Result]] = {}
    every = targets(*prepare())
    with tempfile.TemporaryDirectory(prefix="wrk-") as scratch:
        for app in dict.fromkeys(t.app for t in every):
            port = free_port()
            log_path = LOG_DIR / f"{backend_label().lower()}-wrk-{app.rsplit(':', 1)[1]}.log"
            with production_server(app, workers, port, log_path, "benchmarks.wrk_settings"):
                mine = [t for t in every if t.app == app]
                for target in mine:  # warm: each worker's connections, caches and compiled statements
                    wrk(port, target, 1, Path(scratch))
                for _ in range(rounds):
                    for target in mine:
                        results.setdefault(target.label, []).append(wrk(port, target, seconds, Path(scratch)))
    return results


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make bench installs the Debian package)")
    backend = backend_label()
    workers = env.integer("BENCH_WRK_WORKERS", 2 if backend == "SQLite" else 4)
    seconds = env.number("BENCH_WRK_SECONDS", 4.0)
    rounds = env.integer("BENCH_WRK_ROUNDS", 3)
    runs = measure(workers, seconds, rounds)
    rate = {label: statistics.median(r.requests_per_second for r in rs) for label, rs in runs.items()}
    p99 = {label: statistics.median(r.p99_ms for r in rs) for label, rs in runs.items()}
    p50 = {label: statistics.median(r.p50_ms for r in rs) for label, rs in runs.items()}
    wrong = {label: sum(r.statuses_wrong for r in rs) for label, rs in runs.items()}
    ratios = {
        "401 vs bare view": ("401", "bare view"),
        "valid key vs 401": ("valid key", "401"),
        "key list vs valid key": ("key list", "valid key"),
    }
    outcomes = {}
    for case, (mine, reference) in ratios.items():
        per_round = [
            a.requests_per_second / b.requests_per_second for a, b in zip(runs[mine], runs[reference], strict=True)
        ]
        value = statistics.median(per_round)
        outcomes[mine] = record(Outcome("7", backend, case, value, FLOORS[case], floor=True))
    ceilings = {
        label: record(Outcome("7", backend, f"{label} p99", p99[label], c, "ms")) for label, c in P99_CEILINGS.items()
    }
    errors = record(Outcome("7", backend, "answers not as expected", sum(wrong.values()), 0, "answers"))
    heading(f"Figure 7 — requests per second under wrk, {workers} workers ({backend})")
    note(
        f"wrk 1 thread, 16 connections, {seconds:g} s per request kind, {rounds} rounds (medians; each ratio the "
        f"median of its rounds' ratios). Server: `{' '.join(serve.command('config.wsgi:application', workers, f'{HOST}:PORT')[1:])}`."
    )
    rows = []
    for label in runs:
        ratio_case = next((c for c, (m, _) in ratios.items() if m == label), None)
        outcome = outcomes.get(label)
        ceiling = ceilings.get(label)
        rows.append(
            [
                label,
                f"{rate[label]:,.0f}",
                f"{p50[label]:.2f} ms",
                f"{p99[label]:.2f} ms" + (f" (≤ {ceiling.target:g}: {ceiling.verdict})" if ceiling else ""),
                f"{ratio_case}: {outcome.value:.2f}× (≥ {outcome.target:g}×: {outcome.verdict})" if outcome else "",
                wrong[label],
            ]
        )
    table(["request", "req/s", "p50", "p99", "ratio (target)", "unexpected status"], rows)
    note(f"Unexpected statuses in all: {errors.value:g} ({errors.verdict}).")
