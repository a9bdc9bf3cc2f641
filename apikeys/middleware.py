"""Wire rules for every `/_security` response, including the ones Django answers itself (no route); and what
every page and endpoint answers while the database is away."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views import defaults

from .errors import ApiError, ServiceUnavailable
from .http import PRODUCT_HEADER, es_error

log = logging.getLogger(__name__)

# Seconds a client is asked to wait before retrying while the database is away.
RETRY_AFTER_SECONDS = 1
# At most one warning per this many seconds per process, however many requests meet the outage.
WARN_EVERY_SECONDS = 10
# Operational errors that are bugs or a missing migration, not an outage: they stay 500s.
NOT_AN_OUTAGE = ("no such table", "no such column", "syntax error")
_last_warning = 0.0


class ElasticsearchWireMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/_security"):
            return response
        if response.status_code == 404 and not response.get("Content-Type", "").startswith("application/json"):
            response = es_error(ApiError(f"no handler found for uri [{request.path}] and method [{request.method}]"))
        response[PRODUCT_HEADER[0]] = PRODUCT_HEADER[1]
        return response


def is_outage(error: BaseException | None) -> bool:
    """Whether an exception says the database is away, rather than that the code is wrong."""
    if not isinstance(error, (OperationalError, InterfaceError)):
        return False
    return not any(text in str(error).lower() for text in NOT_AN_OUTAGE)


def unavailable(request: HttpRequest, error: DatabaseError) -> HttpResponse:
    """503 with Retry-After: an Elasticsearch error body for the API, a plain page for the console. Nothing
    here reads the database (not even the signed-in user)."""
    global _last_warning
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
