"""The audit log, for administrators: the page, and its events exported (NDJSON or CSV) with the page's filters."""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from apikeys.access.permissions import audit_refusal
from apikeys.access.principals import Principal
from apikeys.console.forms import AuditFilterForm
from apikeys.console.presenters import NO_AUDIT_PRIVILEGE, UNKNOWN_EXPORT_FORMAT
from apikeys.records import audit, audit_delivery

AUDIT_PAGE_SIZE = 50
EXPORT_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
# Rows read from the database, and written to the answer, at a time: memory holds one chunk, whatever the total.
EXPORT_CHUNK = 2000
# A spreadsheet runs a cell starting with one of these as a formula: such cells get a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _require_audit_reader(request: HttpRequest) -> None:
    if audit_refusal(Principal.signed_in(request)):
        raise PermissionDenied(NO_AUDIT_PRIVILEGE)


@login_required
@require_safe
def audit_log(request: HttpRequest) -> HttpResponse:
    _require_audit_reader(request)
    filters = AuditFilterForm(request.GET)
    events = filters.events()
    paginator = Paginator(events, AUDIT_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    filtered = request.GET.copy()
    filtered.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "query_string": request.GET.urlencode(),
        "export_query": filtered.urlencode(),
        "webhook_backlog": audit_delivery.backlog() if audit.webhook_configured() else None,
    }
    return render(request, "apikeys/audit.html", context)


@login_required
@require_safe
def audit_export(request: HttpRequest) -> HttpResponse:
    """Every event the page's filters select, oldest first, streamed: read `EXPORT_CHUNK` rows at a time from one
    statement, never all of them at once."""
    _require_audit_reader(request)
    kind = request.GET.get("format", "ndjson")
    if kind not in EXPORT_TYPES:
        return HttpResponseBadRequest(UNKNOWN_EXPORT_FORMAT)
    events = AuditFilterForm(request.GET).events().reverse().values(*audit.DOCUMENT_FIELDS)
    rows = (audit.document(row) for row in events.iterator(chunk_size=EXPORT_CHUNK))
    response = StreamingHttpResponse(_ndjson(rows) if kind == "ndjson" else _csv(rows), content_type=EXPORT_TYPES[kind])
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%dT%H%M%SZ}.{kind}"'
    return response


def _chunks(lines: Iterable[str]) -> Iterator[str]:
    """Lines joined `EXPORT_CHUNK` at a time: one write to the socket per chunk, not per event."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == EXPORT_CHUNK:
            yield "".join(chunk)
            chunk.clear()
    if chunk:
        yield "".join(chunk)


def _ndjson(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    return _chunks(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)


class _Line:
    """What `csv.writer` writes to: the line it formatted, handed back."""

    def write(self, line: str) -> str:
        return line


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        value = json.dumps(value, separators=(",", ":"))
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    header = writer.writerow(audit.DOCUMENT_FIELDS)
    lines = (writer.writerow([_cell(row[name]) for name in audit.DOCUMENT_FIELDS]) for row in rows)
    return _chunks(itertools.chain([header], lines))
