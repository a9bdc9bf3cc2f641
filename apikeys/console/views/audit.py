"""The audit log, for administrators."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apikeys.access.permissions import audit_refusal
from apikeys.access.principals import Principal
from apikeys.console.forms import AuditFilterForm
from apikeys.console.presenters import NO_AUDIT_PRIVILEGE

AUDIT_PAGE_SIZE = 50


@login_required
@require_safe
def audit_log(request: HttpRequest) -> HttpResponse:
    principal = Principal.signed_in(request)
    if audit_refusal(principal):
        raise PermissionDenied(NO_AUDIT_PRIVILEGE)
    filters = AuditFilterForm(request.GET)
    events = filters.events()
    paginator = Paginator(events, AUDIT_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"filters": filters, "page": page, "query_string": request.GET.urlencode()}
    return render(request, "apikeys/audit.html", context)
