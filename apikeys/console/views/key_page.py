"""A key's page: its overview, its effective privileges, the update form or why it is read-only, and the
privilege check."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apikeys import services
from apikeys.access.permissions import Refused
from apikeys.access.principals import Principal
from apikeys.console.allowlist import allowlist_text
from apikeys.console.forms import CheckPrivilegesForm, UpdateKeyForm, pretty
from apikeys.console.pages import visible_key_or_404
from apikeys.console.presenters import (
    USAGE_PERIODS,
    leaked_badge,
    leaked_note,
    owner_badge,
    owner_disabled_note,
    read_only_reason,
    relative_time,
    status_of,
    type_badge,
    usage_card,
    usage_period,
)
from apikeys.domain.errors import ApiError
from apikeys.domain.privileges import has_privileges
from apikeys.models import KeyType
from apikeys.readmodels.key_page import key_page


@login_required
@require_http_methods(["GET", "POST"])
def key_detail(request: HttpRequest, key_id: str) -> HttpResponse:
    principal = Principal.signed_in(request)
    key = visible_key_or_404(principal, key_id)
    now = timezone.now()
    period = usage_period(request.GET.get("usage"))
    days, interval, _ = USAGE_PERIODS[period]
    page = key_page(principal, key, days, interval, now)
    reason = read_only_reason(page.update_refusal, key)
    initial = {
        "role_descriptors": pretty(key.role_descriptors),
        "access": pretty(key.access),
        # What the key's users wrote: the server's own keys (`_cloned_from`) cannot be written, and an update keeps them.
        "metadata": pretty(services.split_metadata(key.metadata)[0]),
        "allowed_ips": allowlist_text(key.allowed_ips),
    }
    form = UpdateKeyForm(request.POST if request.method == "POST" else None, initial=initial, key_type=key.type)
    if request.method == "POST":
        if reason:
            raise PermissionDenied(reason)
        if form.is_valid():
            try:
                services.update_api_key(principal, key.id, form.to_body(), key.type)
            except Refused as refused:
                form.add_error(None, read_only_reason(refused.refusal, key))
            except ApiError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Updated API key '{key.name}'")
                return redirect("key_detail", key_id=key.id)
    label, tone = status_of(key, now)
    context = {
        "key": key,
        "cross_cluster": key.type == KeyType.CROSS_CLUSTER,
        "type_badge": type_badge(key),
        "form": form,
        "read_only_reason": reason,
        "status_label": label,
        "status_tone": tone,
        "owner_badge": owner_badge(page.owner_enabled),
        "owner_disabled_note": None if page.owner_enabled else owner_disabled_note(key),
        "leaked_badge": leaked_badge(key.leaked),
        "leaked_note": leaked_note(key),
        "created": relative_time(key.creation),
        "last_used": relative_time(key.last_used),
        "effective_cluster": page.effective_cluster,
        "effective_indices": page.effective_indices,
        "effective_applications": page.effective_applications,
        "descriptors_text": pretty(key.role_descriptors),
        "limited_by_text": pretty(key.limited_by),
        "access_text": pretty(key.access),
        "metadata_text": pretty(key.metadata),
        "check_form": CheckPrivilegesForm(),
        "key_events": page.events,
        **usage_card(key, page.usage, period, now),
        "can_roll": page.roll_refusal is None,
        "can_clone": page.clone_refusal is None,
        "cloned_from": page.cloned_from,
        "cloned_from_shown": page.cloned_from_shown,
        "successor": page.successor,
        "predecessor_shown": page.predecessor_shown,
    }
    return render(request, "apikeys/detail.html", context, status=400 if request.method == "POST" else 200)


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
