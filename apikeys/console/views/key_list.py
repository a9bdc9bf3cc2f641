"""The list of keys and deleting them (a row, the checked rows, every match, every expired or unused key)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from apikeys import services
from apikeys.access.permissions import Refusal, delete_refusal, may_delete_all_matching_a_state, may_delete_any
from apikeys.access.principals import Principal
from apikeys.console.forms import KeyFilterForm
from apikeys.console.pages import render_page_or_fragment
from apikeys.console.presenters import NO_BULK_DELETE, NO_KEY_PRIVILEGE, deletion_messages
from apikeys.console.tables import ApiKeyTable
from apikeys.models import ApiKey
from apikeys.readmodels.deletion import DeleteMode, deletion, preview
from apikeys.readmodels.listing import DEFAULT_SORT, PER_PAGE_CHOICES, KeyListing, sparklines


def _number(request: HttpRequest, name: str, default: int) -> int:
    try:
        return int(request.GET.get(name, default))
    except ValueError:
        return default


@login_required
@require_safe
@vary_on_headers("HX-Request")
def key_list(request: HttpRequest) -> HttpResponse:
    principal = Principal.signed_in(request)
    filters = KeyFilterForm(request.GET)
    listing = KeyListing(
        principal,
        filters.filters(),
        sort=request.GET.get("sort", DEFAULT_SORT),
        page=_number(request, "page", 1),
        per_page=_number(request, "per_page", PER_PAGE_CHOICES[0]),
    )
    if not listing.allowed:
        return render(request, "apikeys/list.html", {"not_allowed": True})
    now = timezone.now()
    page_keys = listing.page_keys()
    table = ApiKeyTable(
        page_keys,
        query=request.GET,
        order_by=listing.sort,
        show_owner=principal.can_read_all_keys,
        can_delete=lambda key: delete_refusal(principal, key, now) is None,
        usage=sparklines(page_keys),
    )
    context = {
        "table": table,
        "page": listing.window,
        "filters": filters,
        "filter_params": [(name, request.GET[name]) for name in KeyFilterForm.base_fields if name in request.GET],
        "counts": listing.counts,
        "owner_options": filters.owner_options(listing.counts["owners"]),
        "has_any_key": listing.has_any_key(),
        "can_create": principal.can_manage_own_keys,
        "can_delete": may_delete_any(principal),
        "deletable_total": listing.deletable_total(),
        "can_delete_expired": may_delete_all_matching_a_state(principal),
        "unused_days": settings.APIKEYS_UNUSED_DAYS,
        "own_keys_only": not principal.can_read_all_keys,
        "show_owner": principal.can_read_all_keys,
        "per_page": listing.per_page,
        "per_page_choices": PER_PAGE_CHOICES,
        "query_string": request.GET.urlencode(),
    }
    if request.htmx and request.htmx.target == "keys-table":
        return render(request, "apikeys/_table.html", context)
    return render(request, "apikeys/list.html", context)


DELETE_MODES = (DeleteMode.EXPIRED, DeleteMode.UNUSED)


def _delete_mode(params) -> DeleteMode:
    """Which keys a delete request means: every expired or unused key, every key matching the search, or the
    checked ids (the default)."""
    for mode in DELETE_MODES:
        if params.get(mode.value) == "1":
            return mode
    return DeleteMode.MATCHING if params.get("all") == "1" else DeleteMode.IDS


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def delete_keys(request: HttpRequest) -> HttpResponse:
    principal = Principal.signed_in(request)
    params = request.POST if request.method == "POST" else request.GET
    mode = _delete_mode(params)
    ids = [i for i in params.getlist("id") if i]
    if mode is DeleteMode.IDS and not ids:
        raise Http404("Choose the API keys to delete")
    now = timezone.now()
    chosen = deletion(principal, mode, ids, KeyFilterForm(params).filters().query(), now)
    if isinstance(chosen, Refusal):
        raise PermissionDenied(NO_BULK_DELETE.get(mode, NO_KEY_PRIVILEGE))
    if request.method == "POST":
        outcome = services.invalidate_keys(chosen.scope, chosen.ids, principal)
        named = [*outcome.invalidated[:1], *outcome.refused]
        names = dict(ApiKey.objects.filter(pk__in=named).values_list("id", "name")) if named else {}
        done, refused = deletion_messages(outcome, names, chosen.ids)
        if done:
            messages.success(request, done)
        for line in refused:
            messages.error(request, line)
        target = reverse("key_list") + (f"?{params.get('return_query')}" if params.get("return_query") else "")
        if request.htmx:
            return HttpResponseClientRedirect(target)
        return redirect(target)
    shown = preview(principal, chosen, now)
    context = {
        "count": shown.count,
        "names": shown.names,
        "more": shown.more,
        "managed_included": shown.managed_included,
        "cross_cluster_included": shown.cross_cluster_included,
        "ids": ids,
        "mode": mode.value,
        "params": params,
        "return_query": params.get("return_query", ""),
        "unused_days": settings.APIKEYS_UNUSED_DAYS,
        "filter_fields": [(name, params.get(name, "")) for name in KeyFilterForm.base_fields],
    }
    return render_page_or_fragment(request, "apikeys/delete.html", "apikeys/_confirm_delete.html", context)
