"""Two gunicorn workers on SQLite, each keeping its database connection between requests: a key invalidated
through the API is refused on the very next request, whichever worker answers it (nothing is trusted from an
earlier read)."""

from __future__ import annotations

from tests.faults.conftest import basic
from tests.faults.servers import request

ASKED = 40  # sequential requests, spread by the kernel over both workers


def test_an_invalidated_key_is_refused_on_the_next_request_by_every_worker(start_app, sqlite_url):
    app = start_app(sqlite_url)
    assert len(app.worker_pids()) == 2
    _, _, key = request(app.url + "/_security/api_key", "POST", basic("alice"), {"name": "revoked-soon"})
    auth = f"ApiKey {key['encoded']}"
    assert {request(app.url + "/_security/_authenticate", auth=auth)[0] for _ in range(ASKED)} == {200}

    status, _, body = request(
        app.url + "/_security/api_key", "DELETE", basic("alice"), {"ids": [key["id"]], "owner": True}
    )
    assert status == 200 and body["invalidated_api_keys"] == [key["id"]]

    answers = [request(app.url + "/_security/_authenticate", auth=auth) for _ in range(ASKED)]
    assert {status for status, _, _ in answers} == {401}
    assert {body["error"]["reason"] for _, _, body in answers} == {f"api key [{key['id']}] has been invalidated"}
