"""Every request: its id, its line in the log (`LOG_FORMAT=json`) and its count in the metrics.

A request's id is the caller's `X-Request-Id` when that is sane (1 to 128 letters, digits and `._:-`), else a new
one; it is echoed in the answer's `X-Request-Id` and carried by every record logged while the request is answered
(`RequestIdFilter`), so a caller's complaint finds its lines.

With `LOG_FORMAT=json` every record is one JSON object per line (python-json-logger: a `logging.Formatter`, so
Django's, gunicorn's and our loggers all go through it unchanged), and each request writes one more, `request`,
with its id, method, route, status, duration, credential, key id, username and client address. Nothing from a
header, a body, a query string or a path: nothing a secret could be in. The default (`text`) stays as it was:
human-readable lines and no line per request (gunicorn's access log and runserver write one).
"""

from __future__ import annotations

import contextvars
import logging
import random
import re
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from apikeys.infra import metrics
from apikeys.infra.http import client_address
from apikeys.infra.logs import FIELDS, LeavesFieldsLines

REQUEST_ID_HEADER = "X-Request-Id"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
API_PATHS = ("/_security", "/openapi.json")
SESSION = "session"  # the credential of a console request: its signed-in user

log = logging.getLogger("apikeys.request")
MESSAGE = "request"
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("apikeys_request_id", default=None)


def request_id_of(request: HttpRequest) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    # 128 random bits, not secret: Python's generator (reseeded in each forked worker), not a system call per request.
    return given if SANE_REQUEST_ID.fullmatch(given) else f"{random.getrandbits(128):032x}"


def route(request: HttpRequest) -> tuple[str, str]:
    """(surface, endpoint): `api` for the views of `apikeys/api/` (and paths under it that match no route), else
    `console`; the route's name, or its pattern when unnamed (the API's), never the path."""
    match = request.resolver_match
    if match is None:
        surface = "api" if request.path.startswith(API_PATHS) else "console"
        return surface, "static" if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")) else "unmatched"
    surface = "api" if match.func.__module__.startswith("apikeys.api") else "console"
    return surface, match.url_name or match.route


def caller(request: HttpRequest) -> tuple[str, str, str]:
    """(credential, key id, username): the JSON API's authentication, else a console request's signed-in user when
    the request has already read it (reading it here would cost a session look-up), else nobody."""
    found = getattr(request, metrics.CALLER_ATTRIBUTE, None)
    if found is not None:
        return found
    user = request.__dict__.get("user")
    if user is not None and getattr(user, "_wrapped", empty) is not empty and user.is_authenticated:
        return SESSION, "", user.username
    return metrics.NO_CREDENTIAL, "", ""


class RequestMiddleware:
    """Outermost: times the whole answer, counts it once whoever answered it (a view, a refusal, a 503)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.lines = RequestLines(log) if settings.LOG_FORMAT == "json" else None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_of(request)
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        seconds = time.perf_counter() - started
        surface, endpoint = route(request)
        metrics.request_answered(surface, endpoint, request.method, response.status_code, seconds)
        response[REQUEST_ID_HEADER] = request_id
        if self.lines is not None:
            credential, key_id, username = caller(request)
            fields = {
                "request_id": request_id,
                "method": request.method,
                "surface": surface,
                "endpoint": endpoint,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 3),
                "credential": credential,
                "key_id": key_id,
                "username": username,
                "client": client_address(request),
            }
            self.lines.write(fields)
        return response


class RequestLines:
    """Writes each request's line. Through `logging`, as any record, unless the log is set up the way
    `LOG_FORMAT=json` sets it up: the line would reach exactly one handler, a `StreamHandler` whose formatter
    can write a fields line (`format_fields`) and whose filters all leave such a line unchanged
    (`LeavesFieldsLines`). Then the line is formatted by that formatter and written to that handler's stream
    under its lock, the same characters `logging` would write, without the `LogRecord`, the filters and the
    handler calls that were two thirds of its cost. The set-up is looked at again for each line, so a handler
    added later (a test's `caplog`, a `dictConfig` at run time) gets the line through `logging`."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def write(self, fields: dict) -> None:
        handler = self.sole_handler()
        if handler is not None:
            line = handler.formatter.format_fields(
                logging.getLevelName(logging.INFO), self.logger.name, MESSAGE, fields, time.time()
            )
            try:
                with handler.lock:
                    handler.stream.write(line + handler.terminator)
                    handler.flush()
            except Exception:  # as `StreamHandler.emit` does: the request goes on, `logging` reports the failure
                record = self.logger.makeRecord(
                    self.logger.name, logging.INFO, __file__, 0, MESSAGE, None, None, extra={FIELDS: fields}
                )
                handler.handleError(record)
            return
        self.logger.info(MESSAGE, extra={FIELDS: fields})

    def sole_handler(self) -> logging.StreamHandler | None:
        logger = self.logger
        if logger.disabled or logger.filters or not logger.isEnabledFor(logging.INFO):
            return None
        handlers: list[logging.Handler] = []
        current: logging.Logger | None = logger
        while current is not None:  # the loggers `Logger.callHandlers` would visit
            handlers.extend(current.handlers)
            current = current.parent if current.propagate else None
        if len(handlers) != 1:
            return None
        handler = handlers[0]
        if (
            type(handler) is not logging.StreamHandler
            or handler.level > logging.INFO
            or not hasattr(handler.formatter, "format_fields")
            or not all(isinstance(found, LeavesFieldsLines) for found in handler.filters)
        ):
            return None
        return handler


class RequestIdFilter(LeavesFieldsLines, logging.Filter):
    """Puts the id of the request being answered on every record logged meanwhile (`request_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and (request_id := _request_id.get()) is not None:
            record.request_id = request_id
        return True
