"""A flood of bad credentials from many addresses, and a backup taken while keys are being written."""

from __future__ import annotations

import base64
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from apikeys.records.audit import FLOOD_CLIENTS
from tests.faults.conftest import basic
from tests.faults.servers import app_env, manage, request

ADDRESSES = 300
BAD_REQUESTS = 1500


def test_a_flood_of_bad_keys_neither_fills_the_audit_log_nor_locks_out_valid_keys(
    start_app, sqlite_url, redis, figures
):
    app = start_app(sqlite_url, redis.url, APIKEYS_AUTH_FAILURES_PER_KEY="10", APIKEYS_AUTH_FAILURES_PER_CLIENT="100")
    _, _, key = request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": "valid"})
    valid = f"ApiKey {key['encoded']}"
    wrong_secret = "ApiKey " + base64.b64encode(f"{key['id']}:not-the-secret-at-all".encode()).decode()

    def bad(i: int) -> int:
        source = f"127.0.{1 + i % ADDRESSES // 250}.{1 + i % 250}"
        unknown = "ApiKey " + base64.b64encode(f"unknown{i:013d}:secret".encode()).decode()
        return request(app.url + "/_security/_authenticate", auth=unknown if i % 2 else wrong_secret, source=source)[0]

    valid_answers: list[int] = []
    flooding = threading.Event()

    def keep_using_the_valid_key() -> None:
        while flooding.is_set():
            valid_answers.append(request(app.url + "/_security/_authenticate", auth=valid)[0])

    flooding.set()
    user = threading.Thread(target=keep_using_the_valid_key)
    user.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            bad_answers = list(pool.map(bad, range(BAD_REQUESTS)))
    finally:
        flooding.clear()
        user.join(timeout=30)

    assert set(bad_answers) <= {401, 429} and 429 in bad_answers
    assert valid_answers and set(valid_answers) == {200}, "the valid key kept working through the flood"
    database = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        (events,) = connection.execute(
            "SELECT count(*) FROM apikeys_auditevent WHERE action = 'auth_failure'"
        ).fetchone()
    # One event per failing address up to FLOOD_CLIENTS, then one shared: per window (at most two windows).
    figures.update(bad=len(bad_answers), valid=len(valid_answers), audit_rows=events, server_errors=0)
    assert FLOOD_CLIENTS < events <= 2 * (FLOOD_CLIENTS + 1), f"{events} audit rows for {BAD_REQUESTS} failures"


def test_a_backup_taken_under_writes_holds_every_acknowledged_key(start_app, sqlite_url, tmp_path, figures):
    app = start_app(sqlite_url)
    acknowledged: list[tuple[float, dict]] = []
    announced = threading.Condition()  # the writers say each acknowledged key; the test waits on that, never polls
    writing = threading.Event()

    def write() -> None:
        n = 0
        while writing.is_set():
            status, _, key = request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": f"w-{n}"})
            if status == 200:
                with announced:
                    acknowledged.append((time.monotonic(), key))
                    announced.notify_all()
            n += 1

    def wait_for(condition, what: str) -> None:
        with announced:
            assert announced.wait_for(condition, timeout=30), f"gave up after 30 s waiting for {what}"

    writing.set()
    writers = [threading.Thread(target=write) for _ in range(3)]
    for writer in writers:
        writer.start()
    try:
        wait_for(lambda: len(acknowledged) >= 30, "keys to pile up")
        started = time.monotonic()
        copy = tmp_path / "backup.sqlite3"
        output = manage(app_env(sqlite_url), "backup", str(copy))
        wait_for(lambda: acknowledged[-1][0] > started, "writes to go on beside the backup")
    finally:
        writing.clear()
        for writer in writers:
            writer.join(timeout=30)
    assert "Backed up" in output
    before = [key for moment, key in acknowledged if moment < started]
    assert len(before) > 10

    with sqlite3.connect(copy) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        kept = {row[0] for row in connection.execute("SELECT id FROM apikeys_apikey")}
    assert {key["id"] for key in before} <= kept, "every key acknowledged before the backup began is in it"
    figures.update(acknowledged_before=len(before), written_meanwhile=len(acknowledged) - len(before), lost=0)

    # Restored as README says (the copy becomes the database), a server on it knows those keys.
    restored = tmp_path / "restored" / "db.sqlite3"
    restored.parent.mkdir()
    Path(restored).write_bytes(copy.read_bytes())
    server = start_app(f"sqlite:///{restored}")
    assert request(server.url + "/_security/_authenticate", auth=f"ApiKey {before[-1]['encoded']}")[0] == 200
