"""Figure 6: a valid key's latency while a flood of bad credentials comes in, against the same requests quiet.

gunicorn (BENCH_FLOOD_WORKERS workers, default 4) serves a copy of the 100,000-key estate on a free 127.0.0.1
port. A valid key is asked for `/_security/_authenticate` at a steady pace, first alone for BENCH_FLOOD_SECONDS
(default 15, in 3 rounds), and for as long again while a flood process sends unknown key ids and wrong secrets
for a real key at BENCH_FLOOD_RATE requests per second in all (default 200), each from one of 300 loopback
addresses
(127.0.1.x, 127.0.2.x), as many clients would. Target: the valid key's p99 during the flood within 2× of
quiet, no 5xx, and a bounded number of audit rows.
"""

from __future__ import annotations

import http.client
import multiprocessing
import socket
import threading
import time
from base64 import b64encode
from dataclasses import dataclass

from django.db import connections

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.models import AuditEvent, User
from benchmarks.databases import LOG_DIR
from benchmarks.fixtures import ADMIN_USERNAME, LARGE
from benchmarks.load import HOST, free_port, production_server
from benchmarks.measure import Outcome, backend_label, heading, ms, note, percentile, record, table
from config import env

ADDRESSES = 300
FLOOD_THREADS = 12
VALID_PER_SECOND = 40
ROUNDS = 3


@dataclass
class Tally:
    latencies: list[float]
    statuses: dict[int, int]

    def merge(self, other: Tally) -> None:
        self.latencies += other.latencies
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n

    def add(self, status: int, seconds: float | None = None) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if seconds is not None:
            self.latencies.append(seconds)


def get(port: int, auth: str, source: str | None = None) -> int:
    connection = http.client.HTTPConnection(HOST, port, timeout=30, source_address=(source, 0) if source else None)
    try:
        connection.request("GET", "/_security/_authenticate", headers={"Authorization": auth})
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


def raw_get(port: int, auth: str, source: str) -> int:
    """The flood's request, as little client work as a request can be (the flood client shares the
    machine's two cores with the server it measures): bytes written, the status line read, closed."""
    request = (
        f"GET /_security/_authenticate HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
    )
    try:
        with socket.create_connection((HOST, port), timeout=30, source_address=(source, 0)) as sock:
            sock.sendall(request.encode())
            head = sock.recv(64)
            while b"\r\n" not in head:
                more = sock.recv(64)
                if not more:
                    break
                head += more
            while sock.recv(65536):  # read the rest, so the server never meets a reset
                pass
        return int(head.split(b" ", 2)[1])
    except (OSError, ValueError, IndexError):
        return 0


def paced(until: float, per_second: float, send) -> None:
    """Call `send()` `per_second` times a second until `until` (skipping beats it fell behind on)."""
    beat = 1 / per_second
    next_at = time.monotonic()
    while next_at < until:
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        send()
        next_at += beat
        next_at = max(next_at, time.monotonic() - beat)


def measure_valid(port: int, auth: str, seconds: float) -> Tally:
    tally = Tally([], {})

    def send() -> None:
        started = time.perf_counter()
        status = get(port, auth)
        tally.add(status, time.perf_counter() - started)

    paced(time.monotonic() + seconds, VALID_PER_SECOND, send)
    return tally


def flood(port: int, key_id: str, seconds: float, rate: float, answers: multiprocessing.Queue) -> None:
    """The flood, in a process of its own: the valid key's client shares no interpreter lock with it."""
    tally = Tally([], {})
    until = time.monotonic() + seconds
    lock = threading.Lock()
    counter = iter(range(10**9))

    def worker() -> None:
        def send() -> None:
            with lock:
                i = next(counter)
            source = f"127.0.{1 + (i % ADDRESSES) // 250}.{1 + i % 250}"
            credential = f"unknown{i:013d}:secret" if i % 2 else f"{key_id}:not-the-secret-at-all"
            status = raw_get(port, "ApiKey " + b64encode(credential.encode()).decode(), source)
            with lock:
                tally.add(status)

        paced(until, rate / FLOOD_THREADS, send)

    threads = [threading.Thread(target=worker) for _ in range(FLOOD_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers.put(tally.statuses)


def main() -> None:
    seconds = env.number("BENCH_FLOOD_SECONDS", 15.0)
    rate = env.number("BENCH_FLOOD_RATE", 200.0)
    workers = env.integer("BENCH_FLOOD_WORKERS", 4)
    backend = backend_label()
    admin = Principal.for_user(User.objects.get(username=ADMIN_USERNAME))
    created = services.create_api_key(admin, {"name": "flood-valid"})
    valid = f"ApiKey {created.encoded}"
    audit_before = AuditEvent.objects.filter(action=AuditEvent.Action.AUTH_FAILURE).count()
    connections.close_all()
    log_path = LOG_DIR / f"{backend.lower()}-flood-gunicorn.log"
    quiet, loud, bad = Tally([], {}), Tally([], {}), Tally([], {})
    with production_server("config.wsgi:application", workers, free_port(), log_path) as server:
        port = server.port
        measure_valid(port, valid, 1)  # warm: the key verified and cached, connections open
        context = multiprocessing.get_context("fork")
        for _ in range(ROUNDS):  # quiet and flooded phases alternate, so drift falls on both alike
            quiet.merge(measure_valid(port, valid, seconds / ROUNDS))
            answers = context.Queue()
            flooder = context.Process(target=flood, args=(port, created.key.id, seconds / ROUNDS, rate, answers))
            flooder.start()
            loud.merge(measure_valid(port, valid, seconds / ROUNDS))
            bad.merge(Tally([], answers.get(timeout=seconds + 60)))
            flooder.join(timeout=30)
    audit_rows = AuditEvent.objects.filter(action=AuditEvent.Action.AUTH_FAILURE).count() - audit_before

    quiet_p99 = percentile(sorted(quiet.latencies), 0.99)
    loud_p99 = percentile(sorted(loud.latencies), 0.99)
    ratio_outcome = record(Outcome("6", backend, "valid key p99, flood vs quiet", loud_p99 / quiet_p99, 2.0))
    errors = sum(n for status, n in [*loud.statuses.items(), *bad.statuses.items()] if status >= 500 or status == 0)
    wrong = sum(n for status, n in loud.statuses.items() if status != 200)
    error_outcome = record(Outcome("6", backend, "5xx or no answer during the flood", errors, 0, "answers"))
    wrong_outcome = record(Outcome("6", backend, "valid key refused during the flood", wrong, 0, "answers"))
    heading(f"Figure 6 — a valid key during a flood of bad keys, {LARGE:,}-key estate ({backend})")
    note(
        f"{workers} gunicorn workers. The valid key: {VALID_PER_SECOND} requests/s, {seconds:g} s quiet and "
        f"{seconds:g} s during a flood of {rate:g} bad requests/s from {ADDRESSES} loopback addresses (half "
        f"unknown key ids, half wrong secrets for a real key), in {ROUNDS} alternating rounds; the flood's "
        "client runs in a process of its own on the same machine.\n"
    )
    table(
        ["A vs B", "A p99 ms", "B p99 ms", "A / B", "target", "result", "valid requests (A, B)"],
        [
            [
                "valid key during the flood vs quiet",
                ms(loud_p99),
                ms(quiet_p99),
                f"{loud_p99 / quiet_p99:.2f}×",
                "≤ 2×",
                ratio_outcome.verdict,
                f"{len(loud.latencies)}, {len(quiet.latencies)}",
            ]
        ],
    )
    flood_answers = ", ".join(f"{status}: {n}" for status, n in sorted(bad.statuses.items()))
    note(
        f"Flood answers: {flood_answers}. Audit rows written for {sum(bad.statuses.values())} failures: {audit_rows} "
        f"(one per address per minute, shared beyond 50 addresses). 5xx or no answer: {errors} "
        f"({error_outcome.verdict}); valid key refused: {wrong} ({wrong_outcome.verdict})."
    )
