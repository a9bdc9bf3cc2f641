"""A key's page: its overview, its effective privileges, the update form or why it is read-only, and the
privilege check."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.console.charts import stacked_bars
from apikeys.console.forms import CheckPrivilegesForm, UpdateKeyForm, pretty
from apikeys.console.tables import JUST_NOW, elapsed, relative_time, status_of, type_badge
from apikeys.console.views.common import visible_key_or_404
from apikeys.domain.errors import ApiError
from apikeys.domain.privileges import (
    effective_applications,
    effective_cluster_privileges,
    effective_index_privileges,
    has_privileges,
    named_applications,
)
from apikeys.models import ApiKey, AuditEvent, KeyType
from apikeys.records import usage
from apikeys.services import UpdateRefusal, update_refusal
from apikeys.services.app_privileges import definitions

KEY_EVENTS_SHOWN = 20


# Why a key page is read-only, in the console's words (the API says it in Elasticsearch's).
READ_ONLY_REASONS = {
    UpdateRefusal.API_KEY: "API keys can't update API keys.",
    UpdateRefusal.NO_PRIVILEGE: "You do not have permission to update API keys.",
    UpdateRefusal.INVALIDATED: "This API key has been deleted. You can no longer update it.",
    UpdateRefusal.EXPIRED: "This API key has expired. You can no longer update it.",
    UpdateRefusal.OTHER_TYPE: "This API key is of another type.",
    UpdateRefusal.MANAGED: "This API key is managed by the system. You can't update it.",
    UpdateRefusal.NOT_OWNER: "You can't update this API key. It belongs to another user.",
    UpdateRefusal.ROLLED: "This API key has been rolled already: the key that replaced it can be rolled.",
}
CROSS_CLUSTER_NO_PRIVILEGE = "You need the manage_security privilege to update cross-cluster API keys."


def read_only_reason(refusal: UpdateRefusal | None, key: ApiKey) -> str | None:
    if refusal is UpdateRefusal.NO_PRIVILEGE and key.type == KeyType.CROSS_CLUSTER:
        return CROSS_CLUSTER_NO_PRIVILEGE
    return READ_ONLY_REASONS[refusal] if refusal else None


@login_required
@require_http_methods(["GET", "POST"])
def key_detail(request: HttpRequest, key_id: str) -> HttpResponse:
    principal = Principal.signed_in(request)
    key = visible_key_or_404(principal, key_id)
    reason = read_only_reason(update_refusal(principal, key), key)
    now = timezone.now()
    initial = {
        "role_descriptors": pretty(key.role_descriptors),
        "access": pretty(key.access),
        "metadata": pretty(key.metadata),
    }
    form = UpdateKeyForm(request.POST if request.method == "POST" else None, initial=initial, key_type=key.type)
    if request.method == "POST":
        if reason:
            raise PermissionDenied(reason)
        if form.is_valid():
            try:
                services.update_api_key(principal, key.id, form.to_body(), key.type)
            except ApiError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Updated API key '{key.name}'")
                return redirect("key_detail", key_id=key.id)
    label, tone = status_of(key, now)
    role_sets = key.role_sets
    applications = named_applications(role_sets)
    context = {
        "key": key,
        "cross_cluster": key.type == KeyType.CROSS_CLUSTER,
        "type_badge": type_badge(key),
        "form": form,
        "read_only_reason": reason,
        "status_label": label,
        "status_tone": tone,
        "created": relative_time(key.creation),
        "last_used": relative_time(key.last_used),
        "effective_cluster": effective_cluster_privileges(role_sets),
        "effective_indices": effective_index_privileges(key.mentioned_roles, role_sets),
        "effective_applications": effective_applications(
            key.mentioned_roles, role_sets, definitions(applications) if applications else {}
        ),
        "descriptors_text": pretty(key.role_descriptors),
        "limited_by_text": pretty(key.limited_by),
        "access_text": pretty(key.access),
        "metadata_text": pretty(key.metadata),
        "check_form": CheckPrivilegesForm(),
        "key_events": key_events(key),
        **usage_card(key, request.GET.get("usage"), now),
        "can_roll": update_refusal(principal, key, now, rolling=True) is None,
        "successor": principal.visible_keys().filter(pk=key.rolled_to).first() if key.rolled_to else None,
        "predecessor_shown": bool(key.rolled_from) and principal.visible_keys().filter(pk=key.rolled_from).exists(),
    }
    return render(request, "apikeys/detail.html", context, status=400 if request.method == "POST" else 200)


USAGE_PERIODS = {"30d": (30, "1d", "30 days"), "24h": (1, "1h", "24 hours")}


def usage_card(key: ApiKey, period: str | None, now) -> dict:
    """The Usage card: requests per day for 30 days (or per hour for 24 hours), as a chart, a summary line
    and a table of the same numbers."""
    period = period if period in USAGE_PERIODS else "30d"
    days, interval, words = USAGE_PERIODS[period]
    buckets = usage.buckets(key.id, days, interval, now)
    when = "%b %-d" if interval == "1d" else "%H:00"
    rows = [(b.start.strftime(when), b.success, b.refused_total) for b in buckets]
    total = sum(b.total for b in buckets)
    refused = sum(b.refused_total for b in buckets)
    last = f"last used {elapsed(key.last_used, now)} ago" if key.last_used else "never used"
    if key.last_used and now - key.last_used < JUST_NOW:
        last = "last used just now"
    summary = f"{total:,} request{'s' if total != 1 else ''} in {words}, {refused:,} refused; {last}"
    return {
        "usage_period": period,
        "usage_rows": rows,
        "usage_summary": summary,
        "usage_chart": stacked_bars(rows, f"Requests per {'day' if interval == '1d' else 'hour'}: {summary}"),
        "usage_unit": "Day" if interval == "1d" else "Hour (UTC)",
    }


def key_events(key: ApiKey) -> list[AuditEvent]:
    """What happened to the key, newest first; a successor's page shows the roll that made it too."""
    happened = Q(key_id=key.id)
    if key.rolled_from:
        happened |= Q(key_id=key.rolled_from, action=AuditEvent.Action.ROLL)
    return list(AuditEvent.objects.filter(happened).order_by("-timestamp", "-id")[:KEY_EVENTS_SHOWN])


@login_required
@require_POST
@vary_on_headers("HX-Request")
def check_privileges(request: HttpRequest, key_id: str) -> HttpResponse:
    principal = Principal.signed_in(request)
    key = visible_key_or_404(principal, key_id)
    form = CheckPrivilegesForm(request.POST)
    results: list[tuple[str, bool]] = []
    error = None
    if form.is_valid():
        try:
            answer = has_privileges(key.role_sets, form.to_request())
        except ApiError as refused:
            error = refused.message
        else:
            results = [(f"Cluster privilege {name}", ok) for name, ok in answer["cluster"].items()]
            results += [(f"{p} on index {i}", ok) for i, privs in answer["index"].items() for p, ok in privs.items()]
    context = {"key": key, "check_form": form, "results": results, "check_error": error}
    if request.htmx:
        return render(request, "apikeys/_check_result.html", context)
    return render(request, "apikeys/check.html", context)
