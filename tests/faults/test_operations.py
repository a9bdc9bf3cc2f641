"""The operator's view under a real gunicorn (`config/gunicorn.py`, as `make serve` runs it): metrics from several
workers add up, JSON logs are JSON to the last line, `/readyz` follows PostgreSQL down and back, and the audit
webhook's receiver gets every event once (after dropping repeats), in order, across a receiver outage and killed
workers."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.faults.conftest import basic
from tests.faults.servers import WebhookReceiver, request, wait_until

TOKEN = "fault-metrics-token-" + "t" * 20
SECRET = "fault-webhook-secret-" + "s" * 20


def authentications(url: str) -> dict[tuple[str, str], float]:
    """(outcome, reason) -> count, from a scrape with the metrics token (answered by whichever worker)."""
    status, _, text = request(url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, text
    return {
        (sample.labels["outcome"], sample.labels["reason"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "apikeys_authentications"
        for sample in family.samples
        if sample.name == "apikeys_authentications_total" and sample.labels["credential"] == "api_key"
    }


def authenticate(url: str, encoded: str, times: int) -> list[int]:
    return [request(url + "/_security/_authenticate", auth=f"ApiKey {encoded}")[0] for _ in range(times)]


def test_metrics_of_every_worker_add_up_and_the_json_log_is_json_to_the_last_line(
    start_app, sqlite_url, tmp_path, figures
):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left by an earlier run")  # emptied at start
    app = start_app(sqlite_url, APIKEYS_METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(folder), LOG_FORMAT="json")
    _, _, key = request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": "counted"})
    wrong = base64.b64encode(f"{key['id']}:not-the-secret".encode()).decode()

    assert authenticate(app.url, key["encoded"], 7) == [200] * 7
    assert authenticate(app.url, wrong, 3) == [401] * 3
    first_workers = app.worker_pids()
    app.kill_workers()  # their counts stay in the folder: the new workers' add to them
    assert authenticate(app.url, key["encoded"], 5) == [200] * 5
    assert authenticate(app.url, wrong, 2) == [401] * 2

    for _ in range(4):  # whichever worker answers the scrape, the same sums
        assert authentications(app.url) == {("success", ""): 12, ("refused", "wrong_secret"): 5}
    text = request(app.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})[2]
    assert "process_resident_memory_bytes" in text and "python_gc_objects_collected_total" in text
    written_by = {int(path.stem.rsplit("_", 1)[1]) for path in folder.glob("counter_*.db")}
    # Counted by a killed worker and by its replacements, added up: which of the two first workers took the first
    # requests is the kernel's choice (one may have taken them all).
    assert written_by & set(first_workers) and written_by - set(first_workers), (written_by, first_workers)

    app.stop()
    lines = Path(app.log).read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line, gunicorn's own included
    boots = [record["message"] for record in records if "Booting worker" in record["message"]]
    assert len(boots) == len(set(boots)) >= 4, boots  # the two first workers and their replacements, each once
    requests = [record for record in records if record["logger"] == "apikeys.request"]
    assert len(requests) >= 1 + 17 + 4
    assert all(len(record["request_id"]) == 32 for record in requests)
    assert len({record["request_id"] for record in requests}) == len(requests)  # one line per request
    assert [record for record in records if record["logger"] == "gunicorn.access"] == []  # ours says more
    assert not any("Control socket" in record["message"] for record in records)  # off: one path per user
    assert key["encoded"] not in "\n".join(lines) and key["api_key"] not in "\n".join(lines)
    figures.update(requests=17, workers_counted=len(written_by), log_lines=len(lines), lines_not_json=0)


def test_readyz_turns_503_while_postgres_is_stopped_and_ready_again_once_it_is_back(
    start_app, postgres, postgres_url, figures
):
    app = start_app(postgres_url, APIKEYS_READY_TIMEOUT_SECONDS="1")
    status, _, body = request(app.url + "/readyz")
    assert (status, body) == (200, {"status": "ready", "database": "up", "cache": "local"})

    postgres.stop()
    try:
        status, _, body = request(app.url + "/readyz", timeout=5)
        assert (status, body) == (503, {"status": "unavailable", "database": "down", "cache": "local"})
        assert request(app.url + "/healthz")[0] == 200  # alive, only not ready
    finally:
        postgres.start()
    recovered = wait_until(lambda: request(app.url + "/readyz")[0] == 200, 10, "/readyz to answer 200 again")
    figures.update(ready_while_away=False, ready_again_seconds=round(recovered, 2))


def stored_event_ids(database_url: str) -> list[int]:
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        return [row[0] for row in db.execute("SELECT id FROM apikeys_auditevent ORDER BY id")]


def outbox_size(database_url: str) -> int:
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        return db.execute("SELECT COUNT(*) FROM apikeys_auditoutbox").fetchone()[0]


def test_the_webhook_gets_every_event_once_in_order_across_an_outage_and_killed_workers(start_app, sqlite_url, figures):
    receiver = WebhookReceiver(SECRET)  # down: nothing listens on its port yet
    app = start_app(
        sqlite_url,
        APIKEYS_AUDIT_WEBHOOK_URL=receiver.url,
        APIKEYS_AUDIT_WEBHOOK_SECRET=SECRET,
        APIKEYS_AUDIT_WEBHOOK_BATCH="4",
        APIKEYS_AUDIT_WEBHOOK_RETRY_SECONDS="0.05",
    )
    try:
        for i in range(10):
            assert request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": f"k{i}"})[0] == 200
        request(app.url + "/_security/_authenticate", auth=basic("alice").replace("Basic ", "Basic x"))
        assert outbox_size(sqlite_url) == len(stored_event_ids(sqlite_url)) == 11  # nothing sent: nobody listens

        receiver.answers.extend([503, 503])  # up, but failing a while
        receiver.hold_next()  # then it takes a batch whose sender dies before hearing so
        receiver.up()
        receiver.wait_for(lambda r: r.statuses[:3] == [503, 503, 0], 30, "two failed batches and one taken")
        app.kill_workers()
        receiver.release()

        for i in range(10, 13):  # written by the new workers
            assert request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": f"k{i}"})[0] == 200
        every = stored_event_ids(sqlite_url)
        assert len(every) == 14
        receiver.wait_for(lambda r: sorted(r.unique_ids()) == every, 30, "every event")
    finally:
        receiver.down()
    assert receiver.unique_ids() == every  # each once, in order
    assert len(receiver.taken) > len(every)  # the batch taken when its sender died came again
    assert receiver.bad_signatures == 0
    wait_until(lambda: outbox_size(sqlite_url) == 0, 10, "the outbox to empty")
    figures.update(events=len(every), posts=len(receiver.statuses), repeats=len(receiver.taken) - len(every), lost=0)
