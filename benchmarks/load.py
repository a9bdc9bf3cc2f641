"""Figure 5: the real server under concurrent load, on loopback only, for a bounded time.

gunicorn serves `config.wsgi` as `make serve` does (BENCH_LOAD_WORKERS workers, default 4) on a free port of
127.0.0.1, against a copy of the 100,000-key estate. BENCH_LOAD_CLIENTS client processes (default 2) of
BENCH_LOAD_THREADS threads each (default 8) then send a mix of verify, query, create and invalidate requests,
one connection per request, for BENCH_LOAD_SECONDS (default 30); every thread stops by itself at the deadline.

Figure 5b: the clients count, per key, the successes and refusals they were answered (a few requests carry a
wrong secret for one of the verified keys). gunicorn is then stopped as a service manager stops it (SIGTERM to
the master: workers finish, exit and run their `atexit` flush of usage counts), and the counts stored in
`KeyUsage` must equal the clients' exactly.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.db.models import Sum

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.domain import keys
from apikeys.models import KeyUsage, User
from apikeys.records import usage
from benchmarks.databases import LOG_DIR
from benchmarks.fixtures import ADMIN_PASSWORD, ADMIN_USERNAME, LARGE, PER_PAGE
from benchmarks.measure import Outcome, backend_label, heading, ms, note, percentile, record, table
from config import env, serve

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only: the load never leaves this machine
MIX = {"verify": 69, "refuse": 1, "query": 15, "create": 10, "invalidate": 5}
# What each kind must be answered; any other status is unexpected. A wrong secret is refused, 401, or 429 once
# that key id (or this client address) has failed too often in the window.
EXPECTED = {"refuse": (401, 429)}
REFUSED = "refused"  # the client's name for every refusal outcome (401 or 429) of a key
VERIFY_KEYS = 20
POOL_PER_THREAD = 10
QUERY_BODIES = [
    {"query": {"match_all": {}}, "size": PER_PAGE},
    {"query": {"prefix": {"name": "billing"}}, "size": PER_PAGE},
    {"query": {"term": {"username": "owner-0002"}}, "sort": [{"name": "asc"}], "size": PER_PAGE},
]
CONNECTION_FAILED = 0  # status recorded when no HTTP answer came back


@dataclass(frozen=True)
class Sample:
    kind: str
    start: float
    seconds: float
    status: int
    key_id: str = ""  # the API key the request authenticated with (verify, refuse)


@dataclass(frozen=True)
class ClientPlan:
    port: int
    deadline: float  # time.time() at which every thread stops sending
    threads: int
    seed: int
    basic: str
    verify_keys: list[tuple[str, str]]  # (key id, Authorization header)
    refuse_key: tuple[str, str]  # one of the verified keys' ids, with a wrong secret
    pools: list[list[str]]  # per thread: ids of keys it may invalidate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def send(port: int, method: str, path: str, headers: dict[str, str], body: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=payload, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def client_thread(plan: ClientPlan, index: int, samples: list[Sample]) -> None:
    rng = random.Random(plan.seed * 1000 + index)
    pool = list(plan.pools[index])
    kinds, weights = list(MIX), list(MIX.values())
    created = 0
    admin = {"Authorization": plan.basic}
    while time.time() < plan.deadline:
        kind = rng.choices(kinds, weights)[0]
        if kind == "invalidate" and not pool:
            kind = "create"
        key_id = ""
        if kind in ("verify", "refuse"):
            key_id, header = rng.choice(plan.verify_keys) if kind == "verify" else plan.refuse_key
            request = ("GET", "/_security/_authenticate", {"Authorization": header}, None)
        elif kind == "query":
            request = ("POST", "/_security/_query/api_key", admin, rng.choice(QUERY_BODIES))
        elif kind == "create":
            created += 1
            body = {"name": f"load-{plan.seed}-{index}-{created}", "expiration": "1d"}
            request = ("POST", "/_security/api_key", admin, body)
        else:
            request = ("DELETE", "/_security/api_key", admin, {"ids": [pool.pop()]})
        begin, started = time.time(), time.perf_counter()
        try:
            status, content = send(plan.port, *request)
        except OSError:
            status, content = CONNECTION_FAILED, b""
        samples.append(Sample(kind, begin, time.perf_counter() - started, status, key_id))
        if kind == "create" and status == 200:
            pool.append(json.loads(content)["id"])


def client_process(plan: ClientPlan) -> list[Sample]:
    samples: list[Sample] = []
    threads = [threading.Thread(target=client_thread, args=(plan, i, samples)) for i in range(plan.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


@dataclass
class Server:
    port: int
    stop: str = ""  # how it stopped: "SIGTERM, exit status 0 after 1.2 s", or killed


@contextmanager
def production_server(
    app: str, workers: int, port: int, log_path: Path, settings_module: str = "config.settings", **environment: str
) -> Iterator[Server]:
    """The production server (`config/serve.py`, as `make serve` runs it) on a loopback port; stopped (this
    process only) on the way out, gracefully (SIGTERM: the workers finish their requests and exit normally,
    `atexit` handlers included), killed only if it has not exited 30 s later (gunicorn's own graceful timeout).
    `environment`: variables set for the server beside this process's own."""
    running = Server(port)
    server_env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, **environment}
    with open(log_path, "wb") as log:
        words = serve.command(app, workers, f"{HOST}:{port}")
        server = subprocess.Popen(words, cwd=ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_serving(port, server)
            yield running
        finally:
            stopping = time.monotonic()
            server.terminate()
            try:
                status = server.wait(timeout=35)
                running.stop = f"SIGTERM, exit status {status} after {time.monotonic() - stopping:.1f} s"
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
                running.stop = "killed (SIGKILL) after SIGTERM went unanswered for 35 s"


def wait_until_serving(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/_security/_authenticate", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any answer: it is serving (the hello-world app answers every path)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer within 60 s")


def prepare(processes: int, threads: int, port: int, seconds: float) -> list[ClientPlan]:
    # The hourly retention purge would otherwise run inside the first invalidation (figure 4 times it).
    services.purge_if_due()
    admin = Principal.for_user(User.objects.get(username=ADMIN_USERNAME))

    def new_key(name: str) -> services.CreatedKey:
        return services.create_api_key(admin, {"name": name})

    verify = [(created.key.id, f"ApiKey {created.encoded}") for created in map(new_key, verify_names())]
    refuse_id = verify[0][0]
    refuse = (refuse_id, f"ApiKey {keys.encode(refuse_id, keys.generate_secret())}")
    pools = [
        [[new_key(f"load-pool-{p}-{t}-{i}").key.id for i in range(POOL_PER_THREAD)] for t in range(threads)]
        for p in range(processes)
    ]
    connections.close_all()  # the server and the clients take over; this process only reports
    basic = "Basic " + b64encode(f"{ADMIN_USERNAME}:{ADMIN_PASSWORD}".encode()).decode()
    deadline = time.time() + seconds
    return [ClientPlan(port, deadline, threads, p + 1, basic, verify, refuse, pools[p]) for p in range(processes)]


def verify_names() -> list[str]:
    return [f"load-verify-{i}" for i in range(VERIFY_KEYS)]


def unexpected(sample: Sample) -> bool:
    return sample.status < 500 and sample.status not in EXPECTED.get(sample.kind, (200,))


def report(samples: list[Sample], workers: int, processes: int, threads: int, log_path: Path) -> None:
    backend = backend_label()
    elapsed = max(s.start + s.seconds for s in samples) - min(s.start for s in samples)
    rows = []
    for kind in [*MIX, "all"]:
        chosen = sorted((s for s in samples if kind in ("all", s.kind)), key=lambda s: s.seconds)
        latencies = [s.seconds for s in chosen]
        server_errors = sum(1 for s in chosen if s.status >= 500)
        others = sum(1 for s in chosen if unexpected(s))
        rows.append(
            [
                kind,
                len(chosen),
                f"{len(chosen) / elapsed:.1f}",
                ms(statistics.median(latencies)) if latencies else "-",
                ms(percentile(latencies, 0.99)) if latencies else "-",
                server_errors,
                others,
            ]
        )
    total_5xx, total_unexpected = rows[-1][5], rows[-1][6]
    five_xx = record(Outcome("5", backend, "5xx answers under load", total_5xx, 0, "answers"))
    dropped = record(
        Outcome("5", backend, "other unexpected answers under load (4xx, no answer)", total_unexpected, 0, "answers")
    )
    cache = "Redis, shared by the workers" if settings.REDIS_URL else "local memory, one per worker"
    heading(f"Figure 5 — gunicorn under concurrent load, {LARGE:,}-key estate ({backend})")
    note(
        f"{workers} gunicorn workers, {processes} client processes × {threads} threads on {HOST}, "
        f"{elapsed:.1f} s; cache: {cache}. Mix: "
        + ", ".join(f"{kind} {weight}%" for kind, weight in MIX.items())
        + ". A refuse request sends a wrong secret for one of the verified keys: 401, or 429 once throttled.\n"
    )
    table(["kind", "requests", "req/s", "p50 ms", "p99 ms", "5xx", "other unexpected"], rows)
    note(
        f"5xx answers: {total_5xx} ({five_xx.verdict}, must be 0); other unexpected: {total_unexpected} ({dropped.verdict})."
    )
    if total_5xx or total_unexpected:
        note(f"Server log: {log_path}")


def client_counts(samples: list[Sample]) -> Counter[tuple[str, str]]:
    """(key id, success or refused) -> answers the clients got; a 5xx or no answer is neither."""
    counts: Counter[tuple[str, str]] = Counter()
    for sample in samples:
        if sample.key_id and sample.status == 200:
            counts[(sample.key_id, usage.SUCCESS)] += 1
        elif sample.key_id and sample.status in (401, 429):
            counts[(sample.key_id, REFUSED)] += 1
    return counts


def stored_counts(key_ids: list[str]) -> Counter[tuple[str, str]]:
    """The same, as the workers stored it in `KeyUsage` (every refusal reason summed as refused)."""
    counts: Counter[tuple[str, str]] = Counter()
    rows = KeyUsage.objects.filter(key_id__in=key_ids).values_list("key_id", "outcome").annotate(n=Sum("count"))
    for key_id, outcome, n in rows.order_by():
        counts[(key_id, usage.SUCCESS if outcome == usage.SUCCESS else REFUSED)] += n
    return counts


@dataclass
class UsageCheck:
    key_ids: list[str]
    before_stop: Counter[tuple[str, str]] = field(default_factory=Counter)
    after_stop: Counter[tuple[str, str]] = field(default_factory=Counter)


def report_usage(samples: list[Sample], check: UsageCheck, server: Server, log_path: Path) -> None:
    backend = backend_label()
    client = client_counts(samples)
    rows = []
    for outcome, label in ((usage.SUCCESS, "successes (200)"), (REFUSED, "refusals (401, 429)")):
        pairs = [(key_id, outcome) for key_id in check.key_ids]
        keys_used = sum(1 for pair in pairs if client[pair] or check.after_stop[pair])
        differing = sum(1 for pair in pairs if client[pair] != check.after_stop[pair])
        difference = sum(abs(client[pair] - check.after_stop[pair]) for pair in pairs)
        outcome_record = record(
            Outcome("5b", backend, f"usage stored vs client's count: {label}, Σ|difference|", difference, 0, "requests")
        )
        rows.append(
            [
                label,
                sum(client[pair] for pair in pairs),
                sum(check.before_stop[pair] for pair in pairs),
                sum(check.after_stop[pair] for pair in pairs),
                f"{keys_used - differing} / {keys_used}",
                difference,
                "0",
                outcome_record.verdict,
            ]
        )
    heading(f"Figure 5b — usage counts stored after the load run vs the clients' own count ({backend})")
    headers = ["outcome", "client got", "stored before stop", "stored after stop", "keys equal", "Σ difference"]
    table([*headers, "target", "result"], rows)
    written_at_exit = sum(check.after_stop.values()) - sum(check.before_stop.values())
    unanswered = sum(1 for s in samples if s.key_id and s.status not in (200, 401, 429))
    note(
        f"gunicorn stopped by {server.stop}; the workers' exit flush wrote {written_at_exit} counts (the "
        "difference between the table read just before SIGTERM and after the master exited). Keys: the "
        f"{len(check.key_ids)} verified keys, one of which also got the wrong-secret requests; a key is equal "
        "when stored and client counts match exactly. Requests with a key that got a 5xx or no answer: "
        f"{unanswered} (5xx must be 0, figure 5)."
    )
    if any(row[-1] == "FAIL" for row in rows):
        note(f"Server log (a failed exit flush logs 'usage counts could not be written at exit'): {log_path}")


def main() -> None:
    seconds = env.number("BENCH_LOAD_SECONDS", 30.0)
    workers = env.integer("BENCH_LOAD_WORKERS", 4)
    processes = env.integer("BENCH_LOAD_CLIENTS", 2)
    threads = env.integer("BENCH_LOAD_THREADS", 8)
    log_path = LOG_DIR / f"{backend_label().lower()}-gunicorn.log"
    with production_server("config.wsgi:application", workers, free_port(), log_path) as server:
        plans = prepare(processes, threads, server.port, seconds)
        check = UsageCheck([key_id for key_id, _ in plans[0].verify_keys])
        with ProcessPoolExecutor(max_workers=processes) as pool:
            samples = [sample for batch in pool.map(client_process, plans) for sample in batch]
        check.before_stop = stored_counts(check.key_ids)  # what the periodic flushes wrote while serving
        connections.close_all()
    check.after_stop = stored_counts(check.key_ids)
    report(samples, workers, processes, threads, log_path)
    report_usage(samples, check, server, log_path)
