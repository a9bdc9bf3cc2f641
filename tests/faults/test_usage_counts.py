"""Usage counts under gunicorn: two workers count in memory, and what they counted is in the table once they
stop (their exit flush), exactly: no request counted twice, none lost."""

from __future__ import annotations

import base64
import sqlite3
from collections import Counter

from tests.faults.conftest import basic
from tests.faults.servers import request


def test_two_workers_write_exactly_what_they_counted_when_they_stop(start_app, sqlite_url, figures):
    # Only the exit flush writes: the interval is longer than the test.
    app = start_app(sqlite_url, APIKEYS_USAGE_FLUSH_SECONDS="3600")
    status, _, key = request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": "counted"})
    assert status == 200
    wrong = base64.b64encode(f"{key['id']}:not-the-secret".encode()).decode()
    answered = Counter()
    for i in range(60):
        encoded = wrong if i % 6 == 0 else key["encoded"]
        answered[request(app.url + "/_security/_authenticate", auth=f"ApiKey {encoded}")[0]] += 1
    assert answered == {200: 50, 401: 10}
    assert len(app.worker_pids()) == 2

    app.stop()  # SIGTERM: the workers finish and exit, flushing

    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        stored = dict(
            db.execute(
                "SELECT outcome, SUM(count) FROM apikeys_keyusage WHERE key_id = ? GROUP BY outcome", (key["id"],)
            ).fetchall()
        )
        rows = db.execute("SELECT COUNT(*) FROM apikeys_keyusage WHERE key_id = ?", (key["id"],)).fetchone()[0]
    assert stored == {"success": 50, "wrong_secret": 10}
    assert rows <= 4  # one row per hour and outcome (two, or four across an hour's turn): the workers' counts added up
    figures.update(requests=60, stored_success=stored["success"], stored_refused=stored["wrong_secret"])
