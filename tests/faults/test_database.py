"""PostgreSQL stopped and started under a running gunicorn: 503s with Retry-After while it is away (never a
500), and the same workers answer again on their own once it is back."""

from __future__ import annotations

import time

from tests.faults.conftest import basic
from tests.faults.servers import request, wait_until


def test_the_app_answers_503_while_postgres_is_away_and_recovers_by_itself(start_app, postgres, postgres_url, figures):
    app = start_app(postgres_url)
    workers = app.worker_pids()
    _, _, key = request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": "kept"})
    auth = f"ApiKey {key['encoded']}"
    assert request(app.url + "/_security/_authenticate", auth=auth)[0] == 200

    postgres.stop()
    answers = [request(app.url + "/_security/_authenticate", auth=auth) for _ in range(6)]
    answers += [request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": "lost?"}) for _ in range(2)]
    for status, headers, body in answers:
        assert status == 503, body
        assert headers["Retry-After"] == "1"
        assert body["error"]["type"] == "cluster_block_exception" and body["status"] == 503
    status, _, page = request(
        app.url + "/api-keys/", headers={"Accept": "text/html", "Cookie": "sessionid=some-session"}
    )
    assert status == 503 and "Temporarily unavailable" in page

    postgres.start()
    back = time.monotonic()
    recovered = wait_until(
        lambda: request(app.url + "/_security/_authenticate", auth=auth)[0] == 200, 10, "the app to answer again"
    )
    assert recovered < 1.5, f"took {recovered:.2f} s after PostgreSQL was back"
    figures.update(sent=len(answers) + 1, server_errors_other_than_503=0, wrong=0, recover_seconds=round(recovered, 2))
    assert time.monotonic() - back < 10
    assert app.worker_pids() == workers, "no worker was restarted"
    status, _, created = request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": "after"})
    assert status == 200
    _, _, mine = request(app.url + "/_security/api_key?owner=true", auth=basic("alice"))
    assert sorted(k["name"] for k in mine["api_keys"]) == ["after", "kept"], "nothing half-written during the outage"
