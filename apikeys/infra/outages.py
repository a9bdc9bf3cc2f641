"""What every page and endpoint answers while the database is away: a 503 with `Retry-After`, never a 500.

An outage is told apart from a bug by the driver's own error code, never by the message's words: SQLite's
result code (`sqlite_errorcode`) and PostgreSQL's SQLSTATE class (`sqlstate`), on the driver's exception that
Django's wraps (`__cause__`)."""

from __future__ import annotations

import logging
import select
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as Late

from django.db import DatabaseError, InterfaceError, OperationalError, connection, connections
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views import defaults

from apikeys.domain.errors import ServiceUnavailable
from apikeys.infra import metrics
from apikeys.infra.http import es_error

log = logging.getLogger(__name__)

# Seconds a client is asked to wait before retrying while the database is away.
RETRY_AFTER_SECONDS = 1
# At most one warning per this many seconds per process, however many requests meet the outage.
WARN_EVERY_SECONDS = 10
# SQLite's primary result codes that mean the file cannot be used now, not that the statement is wrong
# (SQLITE_ERROR, 1, is a missing table or a syntax error: a bug, a 500).
SQLITE_OUTAGES = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PROTOCOL,
    sqlite3.SQLITE_READONLY,
}
# PostgreSQL's SQLSTATE classes that mean the server cannot serve now: connection exception, insufficient
# resources, operator intervention (shutting down, starting up), system error.
POSTGRESQL_OUTAGE_CLASSES = {"08", "53", "57", "58"}
_last_warning = 0.0


def is_outage(error: BaseException | None) -> bool:
    """Whether an exception says the database is away, rather than that the code is wrong."""
    if isinstance(error, InterfaceError):
        return True  # the connection is gone (closed under us)
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    code = getattr(cause, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in SQLITE_OUTAGES  # an extended code carries its primary code in its low byte
    if hasattr(cause, "sqlstate"):
        state = cause.sqlstate
        return state is None or state[:2] in POSTGRESQL_OUTAGE_CLASSES  # None: no server answered at all
    return False


def unavailable(request: HttpRequest, error: DatabaseError) -> HttpResponse:
    """503 with Retry-After: an Elasticsearch error body for the API, a plain page for the console. Nothing
    here reads the database (not even the signed-in user)."""
    global _last_warning
    metrics.database_unavailable()
    if time.monotonic() - _last_warning >= WARN_EVERY_SECONDS:
        _last_warning = time.monotonic()
        log.warning("database unavailable (%s: %s): answering 503", type(error).__name__, str(error).strip()[:200])
    if request.path.startswith("/_security"):
        return es_error(ServiceUnavailable("the key store is temporarily unavailable", RETRY_AFTER_SECONDS))
    page = render_to_string("unavailable.html", {"retry_after": RETRY_AFTER_SECONDS})
    return HttpResponse(page, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class DatabaseUnavailableMiddleware:
    """A view that meets an outage answers 503 instead of 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return unavailable(request, exception) if is_outage(exception) else None


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: an outage met outside a view (a session saved, a middleware's query) is a 503 too."""
    error = sys.exc_info()[1]
    if is_outage(error):
        return unavailable(request, error)
    return defaults.server_error(request)


def drop_hung_up_connections(**kwargs: object) -> None:
    """`request_started`: close a kept PostgreSQL connection the server has hung up on (restarted, or ended the
    session), so that the request connects afresh instead of failing on it. Django's health check
    (`CONN_HEALTH_CHECKS`) asks the server `SELECT 1` before each request's first statement: a round trip as long as
    a warm key's own read. Between requests nothing is owed on an idle connection, so one the server has closed is
    readable (its farewell, then end of file): a poll that does not wait tells it, with no round trip."""
    for db in connections.all(initialized_only=True):
        raw = db.connection
        if raw is None or db.vendor != "postgresql":
            continue  # SQLite: a file, never hung up on
        if raw.closed or _readable(raw.fileno()):
            db.close()


def _readable(descriptor: int) -> bool:
    poller = select.poll()
    poller.register(descriptor, select.POLLIN)
    return bool(poller.poll(0))


# --- Readiness: does the database answer now? -----------------------------------------------------------------

_prober = ThreadPoolExecutor(max_workers=1, thread_name_prefix="apikeys-ready")
_probe_lock = threading.Lock()
_probe: Future[bool] | None = None


def database_answers(timeout: float) -> bool:
    """Whether the database answers `SELECT 1` within `timeout` seconds. Asked on a thread of its own, so that a
    database that hangs (rather than refuses) is late, not a hung request; while one question is still
    unanswered, the next caller waits for that one instead of asking again."""
    global _probe
    with _probe_lock:
        if _probe is None or _probe.done():
            _probe = _prober.submit(_ask_database)
        probe = _probe
    try:
        answered = probe.result(timeout)
    except Late:
        answered = False
    if not answered:
        metrics.database_unavailable()
    return answered


def _ask_database() -> bool:
    """One question on a connection of its own, closed after it: a probe every few seconds costs a connection each
    time, and never holds one the database has dropped."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError as error:
        if not is_outage(error):
            raise
        return False
    finally:
        connection.close()
