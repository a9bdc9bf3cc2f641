"""Console views: thin – parse a form, call one service or query, render a page or an htmx fragment."""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from . import audit, caching, services
from .errors import ApiError
from .forms import (
    BOILERPLATES,
    AuditFilterForm,
    CheckPrivilegesForm,
    CreateKeyForm,
    KeyFilterForm,
    UpdateKeyForm,
    json_field_value,
    pretty,
)
from .http import client_address
from .jsontext import JsonProblem
from .listing import DEFAULT_SORT, PER_PAGE_CHOICES, KeyListing
from .models import ApiKey, AuditEvent, KeyStatus
from .principals import Principal
from .privileges import effective_cluster_privileges, effective_index_privileges, has_privileges, key_role_sets
from .query import compile_query
from .services import UpdateRefusal, update_refusal
from .tables import ApiKeyTable, relative_time, status_of

KEYS_CHANGED = "apikeys-changed"
KEY_EVENTS_SHOWN = 20
MAX_LISTED_NAMES = 50


def render_page_or_fragment(
    request: HttpRequest, page: str, fragment: str, context: dict[str, Any], **kwargs
) -> HttpResponse:
    return render(request, fragment if request.htmx and not request.htmx.boosted else page, context, **kwargs)


# --- Sign in ---------------------------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    """Django's sign-in, locked for a while after repeated failures for one username from one address."""

    redirect_authenticated_user = True

    def _scope(self) -> str:
        username = self.request.POST.get("username", "")[:150].lower()
        return f"sign-in:{username}:{client_address(self.request) or ''}"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = caching.is_throttled(
            self._scope(), settings.APIKEYS_SIGN_IN_FAILURES, settings.APIKEYS_SIGN_IN_WINDOW_SECONDS
        )
        if wait:
            minutes = math.ceil(wait / 60)
            message = f"Too many failed sign-in attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
            response = self.render_to_response(
                self.get_context_data(form=self.get_form(), throttled=message), status=429
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        caching.count_failure(self._scope(), settings.APIKEYS_SIGN_IN_FAILURES, settings.APIKEYS_SIGN_IN_WINDOW_SECONDS)
        audit.record(
            audit.Action.SIGN_IN_FAILURE,
            actor=self.request.POST.get("username", "")[:150],
            client_address=client_address(self.request),
        )
        return super().form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        caching.forget_failures(self._scope(), settings.APIKEYS_SIGN_IN_WINDOW_SECONDS)
        return super().form_valid(form)


# --- List -------------------------------------------------------------------------------------------------


def _number(request: HttpRequest, name: str, default: int) -> int:
    try:
        return int(request.GET.get(name, default))
    except ValueError:
        return default


@login_required
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
    table = ApiKeyTable(
        listing.page_keys(),
        query=request.GET,
        order_by=listing.sort,
        show_owner=principal.can_read_all_keys,
        can_delete=lambda key: deletable is not None and (principal.can_manage_all_keys or key.owner_id == owner_id),
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
        "own_keys_only": not principal.can_read_all_keys,
        "show_owner": principal.can_read_all_keys,
        "per_page": listing.per_page,
        "per_page_choices": PER_PAGE_CHOICES,
        "query_string": request.GET.urlencode(),
    }
    if request.htmx and request.htmx.target == "keys-table":
        return render(request, "apikeys/_table.html", context)
    return render(request, "apikeys/list.html", context)


# --- Create -----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def create_key(request: HttpRequest) -> HttpResponse:
    principal = Principal.signed_in(request)
    if not principal.can_manage_own_keys:
        raise PermissionDenied("You do not have permission to manage API keys")
    form = CreateKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.create_api_key(principal, form.to_body())
        except ApiError as error:
            form.add_error(None, error.message)
        else:
            context = {"created": created, "formats": _key_formats(created, request)}
            response = render_page_or_fragment(request, "apikeys/create.html", "apikeys/_created.html", context)
            return trigger_client_event(response, KEYS_CHANGED, {"id": created.key.id}) if request.htmx else response
    context = {"form": form, "boilerplates": {k: pretty(v) for k, v in BOILERPLATES.items()}}
    if request.method == "POST":
        # htmx swaps only 2xx answers: the flyout gets its errors with a 200, a plain form post a 400.
        status = 200 if request.htmx else 400
        return render_page_or_fragment(
            request, "apikeys/create.html", "apikeys/_create_form.html", context, status=status
        )
    return render_page_or_fragment(request, "apikeys/create.html", "apikeys/_create_flyout.html", context)


def _key_formats(created: services.CreatedKey, request: HttpRequest) -> dict[str, str]:
    return {
        "encoded": created.encoded,
        "beats": f"{created.key.id}:{created.secret}",
        "logstash": f"{created.key.id}:{created.secret}",
        "json": json.dumps(created.to_dict()),
        "curl": f'curl "{request.build_absolute_uri("/").rstrip("/")}/_security/_authenticate" '
        f'-H "Authorization: ApiKey {created.encoded}"',
    }


@login_required
@require_POST
def validate_json(request: HttpRequest) -> HttpResponse:
    """The editors' validation as you type: the same validators the API uses."""
    field = request.POST.get("field", "")
    if field not in ("role_descriptors", "metadata"):
        return HttpResponse("Unknown editor.", status=400)
    text = request.POST.get(field, "")
    problem = None
    if text.strip():
        try:
            json_field_value(field, text)
        except JsonProblem as exc:
            problem = exc
    return render(request, "apikeys/_json_status.html", {"problem": problem, "field": field})


# --- Key page ---------------------------------------------------------------------------------------------


def visible_key_or_404(principal: Principal, key_id: str) -> ApiKey:
    visible = principal.visible_keys()
    key = visible.select_related("owner").filter(pk=key_id).first() if visible is not None else None
    if key is None:
        raise Http404("No such API key")
    return key


# Why a key page is read-only, in the console's words (the API says it in Elasticsearch's).
READ_ONLY_REASONS = {
    UpdateRefusal.API_KEY: "API keys can't update API keys.",
    UpdateRefusal.NO_PRIVILEGE: "You do not have permission to update API keys.",
    UpdateRefusal.INVALIDATED: "This API key has been deleted. You can no longer update it.",
    UpdateRefusal.EXPIRED: "This API key has expired. You can no longer update it.",
    UpdateRefusal.MANAGED: "This API key is managed by the system. You can't update it.",
    UpdateRefusal.NOT_OWNER: "You can't update this API key. It belongs to another user.",
}


@login_required
@require_http_methods(["GET", "POST"])
def key_detail(request: HttpRequest, key_id: str) -> HttpResponse:
    principal = Principal.signed_in(request)
    key = visible_key_or_404(principal, key_id)
    refusal = update_refusal(principal, key)
    reason = READ_ONLY_REASONS[refusal] if refusal else None
    initial = {"role_descriptors": pretty(key.role_descriptors), "metadata": pretty(key.metadata)}
    form = UpdateKeyForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        if reason:
            raise PermissionDenied(reason)
        if form.is_valid():
            try:
                services.update_api_key(principal, key.id, form.to_body())
            except ApiError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Updated API key '{key.name}'")
                return redirect("key_detail", key_id=key.id)
    label, tone = status_of(key)
    context = {
        "key": key,
        "form": form,
        "read_only_reason": reason,
        "status_label": label,
        "status_tone": tone,
        "created": relative_time(key.creation),
        "last_used": relative_time(key.last_used),
        "effective_cluster": effective_cluster_privileges(key_role_sets(key.role_descriptors, key.limited_by)),
        "effective_indices": effective_index_privileges(key.role_descriptors, key.limited_by),
        "descriptors_text": pretty(key.role_descriptors),
        "limited_by_text": pretty(key.limited_by),
        "metadata_text": pretty(key.metadata),
        "check_form": CheckPrivilegesForm(),
        "key_events": AuditEvent.objects.filter(key_id=key.id).order_by("-timestamp", "-id")[:KEY_EVENTS_SHOWN],
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
            answer = has_privileges(key_role_sets(key.role_descriptors, key.limited_by), form.to_request())
        except ApiError as refused:
            error = refused.message
        else:
            results = [(f"Cluster privilege {name}", ok) for name, ok in answer["cluster"].items()]
            results += [(f"{p} on index {i}", ok) for i, privs in answer["index"].items() for p, ok in privs.items()]
    context = {"key": key, "check_form": form, "results": results, "check_error": error}
    if request.htmx:
        return render(request, "apikeys/_check_result.html", context)
    return render(request, "apikeys/check.html", context)


# --- Delete -----------------------------------------------------------------------------------------------


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
        failed = [i for i in (ids or []) if i not in deleted]
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
        "ids": ids or [],
        "mode": mode,
        "params": params,
        "return_query": params.get("return_query", ""),
        "filter_fields": [(name, params.get(name, "")) for name in KeyFilterForm.base_fields],
    }
    return render_page_or_fragment(request, "apikeys/delete.html", "apikeys/_confirm_delete.html", context)


# --- Audit log --------------------------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    principal = Principal.signed_in(request)
    if not principal.has_cluster("manage_security"):
        raise PermissionDenied("Only administrators can read the audit log")
    filters = AuditFilterForm(request.GET)
    events = filters.events()
    paginator = Paginator(events, AUDIT_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"filters": filters, "page": page, "query_string": request.GET.urlencode()}
    return render(request, "apikeys/audit.html", context)
