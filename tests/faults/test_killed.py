"""A worker killed with SIGKILL in the middle of a 10,000-key write (API invalidation, API bulk update, the
console's "Delete all expired"): the change is then entirely there or entirely absent, its audit rows match,
and the same request sent again completes it. PostgreSQL, so that the kill lands while the transaction has
written (its `backend_xid` is set) and before it commits."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

import psycopg
import pytest

from tests.faults.conftest import PASSWORD, basic
from tests.faults.servers import Gunicorn, app_env, manage, request, wait_until

KEYS = 10_000
# Killed while its transaction has written: rolled back (a commit in the instant between seeing it write and
# the kill would leave it whole; never half).
ALL_OR_NOTHING = [(0, 0), (KEYS, KEYS)]
SEED = """
from datetime import timedelta
from django.utils import timezone
from apikeys.domain import keys
from apikeys.models import ApiKey, User
owner = User.objects.get(username="{owner}")
now = timezone.now()
ApiKey.objects.bulk_create(
    [ApiKey(id=f"{prefix}{{i:016d}}", name=f"bulk-{{i:05d}}", owner=owner, username=owner.username,
            hash="{{SSHA256}}unusable", creation=now - timedelta(seconds=i), expiration={expiration})
     for i in range({count})],
    batch_size=2000,
)
"""


def seed(database_url: str, owner: str, prefix: str, expired: bool = False) -> list[str]:
    expiration = "now - timedelta(days=1)" if expired else "None"
    script = SEED.format(owner=owner, prefix=prefix, count=KEYS, expiration=expiration)
    manage(app_env(database_url), "shell", "-c", script)
    return [f"{prefix}{i:016d}" for i in range(KEYS)]


def writing_backends(database_url: str) -> int:
    """Backends of the app inside a transaction that has written something, not yet committed."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
        ).fetchone()
    return count


def kill_mid_write(app: Gunicorn, database_url: str, send: Callable[[], object]) -> None:
    """Send the request in a thread; SIGKILL the workers the moment its transaction has written."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["answer"] = send()
        except Exception as error:  # the connection dies with the worker
            outcome["error"] = error

    sender = threading.Thread(target=run)
    sender.start()
    wait_until(lambda: writing_backends(database_url) > 0 or not sender.is_alive(), 60, "the write to start")
    assert sender.is_alive(), f"the request finished before it could be killed: {outcome}"
    app.kill_workers()
    sender.join(timeout=60)
    assert "error" in outcome or outcome["answer"][0] >= 500, f"the killed request was answered: {outcome}"
    # PostgreSQL rolls back a dead client's transaction when it notices; nothing announces that.
    wait_until(lambda: writing_backends(database_url) == 0, 30, "the killed transaction to be rolled back")


def counts(database_url: str, sql_keys: str, action: str) -> tuple[int, int]:
    """(keys in the changed state, audit events of that action)."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        (changed,) = connection.execute(sql_keys).fetchone()
        (audited,) = connection.execute(
            "SELECT coalesce(sum(count), 0) FROM apikeys_auditevent WHERE action = %s", [action]
        ).fetchone()
    return changed, audited


@pytest.fixture
def app(start_app, postgres_url) -> Gunicorn:
    return start_app(postgres_url)


def test_a_killed_invalidation_of_10000_keys_is_all_or_nothing(app, postgres_url, figures):
    ids = seed(postgres_url, "alice", "inv")
    send = lambda: request(  # noqa: E731
        app.url + "/_security/api_key", "DELETE", basic("alice"), {"ids": ids, "owner": True}, timeout=60
    )
    kill_mid_write(app, postgres_url, send)
    invalidated = "SELECT count(*) FROM apikeys_apikey WHERE invalidated"
    figures["after_the_kill"] = counts(postgres_url, invalidated, "invalidate")
    assert figures["after_the_kill"] in ALL_OR_NOTHING

    status, _, answer = send()
    assert status == 200 and len(answer["invalidated_api_keys"] + answer["previously_invalidated_api_keys"]) == KEYS
    assert counts(postgres_url, invalidated, "invalidate") == (KEYS, KEYS)


def test_a_killed_bulk_update_of_10000_keys_is_all_or_nothing(app, postgres_url, figures):
    ids = seed(postgres_url, "alice", "upd")
    body = {"ids": ids, "metadata": {"rolled": True}}
    send = lambda: request(app.url + "/_security/api_key/_bulk_update", "POST", basic("alice"), body, timeout=120)  # noqa: E731
    kill_mid_write(app, postgres_url, send)
    updated = "SELECT count(*) FROM apikeys_apikey WHERE metadata @> '{\"rolled\": true}'"
    figures["after_the_kill"] = counts(postgres_url, updated, "update")
    assert figures["after_the_kill"] in ALL_OR_NOTHING

    status, _, answer = send()
    assert status == 200 and len(answer["updated"] + answer["noops"]) == KEYS
    assert counts(postgres_url, updated, "update") == (KEYS, KEYS)


def console_session(app: Gunicorn) -> tuple[str, str]:
    """Sign admin in through the form: (Cookie header, CSRF token)."""
    status, headers, page = request(app.url + "/accounts/login/", headers={"Accept": "text/html"})
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    cookie = headers["Set-Cookie"].split(";")[0]
    form = urllib.parse.urlencode({"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": csrf})
    signed_in = _post_form(app.url + "/accounts/login/", form, cookie)
    session = [c.split(";")[0] for c in signed_in.get_all("Set-Cookie") if c.startswith(("sessionid", "csrftoken"))]
    cookies = dict(c.split("=", 1) for c in [cookie, *session])
    return "; ".join(f"{k}={v}" for k, v in cookies.items()), cookies["csrftoken"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _post_form(url: str, form: str, cookie: str):
    """POST a console form; the answer's headers (a redirect is the success)."""
    req = urllib.request.Request(
        url,
        data=form.encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, "Referer": url},
    )
    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=120) as response:
            return response.headers
    except urllib.error.HTTPError as error:
        if error.code in (301, 302):
            return error.headers
        raise


def test_a_killed_delete_all_expired_in_the_console_is_all_or_nothing(app, postgres_url, figures):
    seed(postgres_url, "alice", "exp", expired=True)
    cookie, csrf = console_session(app)
    form = urllib.parse.urlencode({"expired": "1", "csrfmiddlewaretoken": csrf})

    def send() -> tuple[int, object]:
        return 302, _post_form(app.url + "/api-keys/delete/", form, cookie)

    kill_mid_write(app, postgres_url, send)
    invalidated = "SELECT count(*) FROM apikeys_apikey WHERE invalidated"
    figures["after_the_kill"] = counts(postgres_url, invalidated, "invalidate")
    assert figures["after_the_kill"] in ALL_OR_NOTHING

    send()
    assert counts(postgres_url, invalidated, "invalidate") == (KEYS, KEYS)
