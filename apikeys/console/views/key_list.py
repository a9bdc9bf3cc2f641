"""The list of keys and deleting them (a row, the checked rows, every match, every expired or unused key)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.console.forms import KeyFilterForm
from apikeys.console.tables import ApiKeyTable
from apikeys.console.views.common import render_page_or_fragment
from apikeys.domain.key_rules import KeyStatus, not_used
from apikeys.models import ApiKey
from apikeys.query import compile_query
from apikeys.readmodels.listing import CROSS_CLUSTER_CLAUSE, DEFAULT_SORT, PER_PAGE_CHOICES, KeyListing
from apikeys.records import usage

MAX_LISTED_NAMES = 50
SPARKLINE_DAYS = 7


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
    deletable = principal.deletable_keys()
    owner_id = request.user.pk
    page_keys = listing.page_keys()
    table = ApiKeyTable(
        page_keys,
        query=request.GET,
        order_by=listing.sort,
        show_owner=principal.can_read_all_keys,
        can_delete=lambda key: deletable is not None and (principal.can_manage_all_keys or key.owner_id == owner_id),
        usage=usage.daily_totals([key.id for key in page_keys], SPARKLINE_DAYS),
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
        "can_delete": deletable is not None,
        "can_delete_expired": principal.can_manage_all_keys,
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


def _delete_scope(principal: Principal, params) -> tuple[QuerySet, list[str] | None, str]:
    """The keys a delete request means: checked ids, every key matching the search, or every expired key."""
    deletable = principal.deletable_keys()
    if deletable is None:
        raise PermissionDenied("You do not have permission to manage API keys")
    deletable = deletable.without_status(KeyStatus.INVALIDATED)
    if params.get("expired") == "1":
        if not principal.can_manage_all_keys:
            raise PermissionDenied("Only administrators can delete all expired API keys")
        return deletable.expired(), None, "expired"
    if params.get("unused") == "1":
        if not principal.can_manage_all_keys:
            raise PermissionDenied("Only administrators can delete all unused API keys")
        return deletable.filter(not_used().q(timezone.now())), None, "unused"
    if params.get("all") == "1":
        return deletable.filter(compile_query(KeyFilterForm(params).filters().query())), None, "matching"
    ids = [i for i in params.getlist("id") if i]
    if not ids:
        raise Http404("Choose the API keys to delete")
    return deletable, ids, "ids"


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def delete_keys(request: HttpRequest) -> HttpResponse:
    principal = Principal.signed_in(request)
    params = request.POST if request.method == "POST" else request.GET
    scope, ids, mode = _delete_scope(principal, params)
    if request.method == "POST":
        result = services.invalidate_keys(scope, ids, principal)
        deleted = result["invalidated_api_keys"]
        if len(deleted) == 1:
            name = ApiKey.objects.filter(pk=deleted[0]).values_list("name", flat=True).first()
            messages.success(request, f"Deleted API key '{name}'")
        else:
            messages.success(request, f"Deleted {len(deleted):,} API keys")
        refused = [detail["reason"] for detail in result.get("error_details", [])]
        failed = [i for i in (ids or []) if i not in deleted and not any(i in reason for reason in refused)]
        for reason in refused:
            messages.error(request, f"Could not delete: {reason}")
        if failed:
            messages.error(
                request, "Could not delete: " + ", ".join(failed) + " (not found, already deleted or not yours)"
            )
        target = reverse("key_list") + (f"?{params.get('return_query')}" if params.get("return_query") else "")
        if request.htmx:
            return HttpResponseClientRedirect(target)
        return redirect(target)
    chosen = scope.filter(pk__in=ids) if ids else scope
    count = chosen.count()
    listed = list(chosen.order_by("name", "id").values_list("name", flat=True)[:MAX_LISTED_NAMES])
    context = {
        "count": count,
        "names": listed,
        "more": count - len(listed),
        "managed_included": chosen.filter(managed=True).exists(),
        "cross_cluster_included": chosen.filter(compile_query(CROSS_CLUSTER_CLAUSE)).exists(),
        "ids": ids or [],
        "mode": mode,
        "params": params,
        "return_query": params.get("return_query", ""),
        "unused_days": settings.APIKEYS_UNUSED_DAYS,
        "filter_fields": [(name, params.get(name, "")) for name in KeyFilterForm.base_fields],
    }
    return render_page_or_fragment(request, "apikeys/delete.html", "apikeys/_confirm_delete.html", context)
