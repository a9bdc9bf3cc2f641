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

from . import audit, services
from .auth import client_address
from .errors import ServiceError
from .forms import (
    BOILERPLATES,
    MANAGED_QUERY,
    PER_PAGE_CHOICES,
    STATUS_QUERIES,
    AuditFilterForm,
    CheckPrivilegesForm,
    CreateKeyForm,
    KeyFilterForm,
    UpdateKeyForm,
    json_field_value,
    pretty,
)
from .jsontext import JsonProblem
from .models import ApiKey, AuditEvent
from .principals import Principal
from .privileges import effective_cluster_privileges, effective_index_privileges, has_privileges, key_role_sets
from .query import cached_count, compile_query, counts_per_username, page_ids, username_counts
from .tables import DEFAULT_SORT, SORTS, ApiKeyTable, WindowPaginator, relative_time, status_of
from .throttle import count_failure, forget, is_throttled

KEYS_CHANGED = "apikeys-changed"
# The Owner filter lists at most this many owners (by name); the search box finds the others.
MAX_OWNER_CHOICES = 100
KEY_EVENTS_SHOWN = 20
MAX_LISTED_NAMES = 50


def principal_of(request: HttpRequest) -> Principal:
    principal = Principal.for_user(request.user)
    principal.client_address = client_address(request)
    return principal


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
        wait = is_throttled(self._scope(), settings.APIKEYS_SIGN_IN_FAILURES, settings.APIKEYS_SIGN_IN_WINDOW_SECONDS)
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
        count_failure(self._scope(), settings.APIKEYS_SIGN_IN_FAILURES, settings.APIKEYS_SIGN_IN_WINDOW_SECONDS)
        audit.record(
            audit.Action.SIGN_IN_FAILURE,
            actor=self.request.POST.get("username", "")[:150],
            client_address=client_address(self.request),
        )
        return super().form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        forget(self._scope(), settings.APIKEYS_SIGN_IN_WINDOW_SECONDS)
        return super().form_valid(form)


# --- List -------------------------------------------------------------------------------------------------


def _per_page(request: HttpRequest) -> int:
    try:
        value = int(request.GET.get("per_page", PER_PAGE_CHOICES[0]))
    except ValueError:
        return PER_PAGE_CHOICES[0]
    return value if value in PER_PAGE_CHOICES else PER_PAGE_CHOICES[0]


def _list_counts(visible: QuerySet, filters: KeyFilterForm, query: dict[str, Any]) -> dict[str, Any]:
    """The number of keys the list shows (`total`) and the count beside every filter value, search applied.

    Without a search every count is a range of an index (or the owners' GROUP BY over `apikey_username`),
    a few milliseconds each at 100,000 keys; the statuses partition the keys, so active is what is left.
    With a search, all counts come from one pass over its matches (found through the trigram index on
    PostgreSQL; SQLite reads every name)."""
    if filters.search_text():
        return _counts_in_one_pass(visible.filter(compile_query(filters.search_clause())), query)
    owners = username_counts(visible)
    keys = sum(count for _, count in owners)

    def count(clause: dict[str, Any]) -> int:
        return visible.filter(compile_query(clause)).count()

    counts = {"expired": count(STATUS_QUERIES["expired"]), "invalidated": count(STATUS_QUERIES["invalidated"])}
    counts["active"] = keys - counts["expired"] - counts["invalidated"]
    counts["managed"] = count(MANAGED_QUERY)
    counts["personal"] = keys - counts["managed"]
    chosen = filters.cleaned_data if filters.is_valid() else {}
    if chosen.get("type") or chosen.get("owner"):
        counts["total"] = count(query)
    else:  # the status filter alone (or none: every key not invalidated) is one of the counts above
        counts["total"] = counts.get(chosen.get("status") or "", keys - counts["invalidated"])
    counts["owners"] = owners[:MAX_OWNER_CHOICES]
    return counts


def _counts_in_one_pass(searched: QuerySet, query: dict[str, Any]) -> dict[str, Any]:
    clauses = {name: clause for name, clause in STATUS_QUERIES.items() if name}
    clauses.update(managed=MANAGED_QUERY, total=query)
    counts = dict.fromkeys([*clauses, "personal"], 0)
    owners = []
    for owner in counts_per_username(searched, clauses):
        for name in clauses:
            counts[name] += owner[name]
        counts["personal"] += owner["count"] - owner["managed"]
        owners.append((owner["username"], owner["count"]))
    counts["owners"] = owners[:MAX_OWNER_CHOICES]
    return counts


def _ordering(sort: str) -> tuple[str, list[str]]:
    """The `sort` parameter (`name`, `-created`, ...) and the ORM ordering it means (ties broken by id)."""
    name = sort.removeprefix("-")
    if name not in SORTS:
        sort, name = DEFAULT_SORT, DEFAULT_SORT.removeprefix("-")
    fields = SORTS[name]
    return sort, [f"-{f}" for f in fields] if sort.startswith("-") else list(fields)


def _page_number(request: HttpRequest, pages: int) -> int:
    try:
        number = int(request.GET.get("page", 1))
    except ValueError:
        number = 1
    return min(max(number, 1), pages)


@login_required
@vary_on_headers("HX-Request")
def key_list(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    visible = principal.visible_keys()
    if visible is None:
        return render(request, "apikeys/list.html", {"not_allowed": True})
    filters = KeyFilterForm(request.GET)
    query = filters.query()
    matching = visible.filter(compile_query(query))
    scope = "all" if principal.can_read_all_keys else f"owner:{request.user.pk}"
    # Counts are the slow part at 100,000 keys: remembered until the next write (or 30 s).
    counts = cached_count(
        ["list", scope, query],
        lambda: _list_counts(visible, filters, query),
        rows=lambda counts: counts["personal"] + counts["managed"],
    )
    total = counts["total"]
    per_page = _per_page(request)
    page = _page_number(request, max(1, math.ceil(total / per_page)))
    sort, ordering = _ordering(request.GET.get("sort", DEFAULT_SORT))
    ids = page_ids(matching, ordering, (page - 1) * per_page, per_page, total)
    deletable = principal.deletable_keys()
    owner_id = request.user.pk
    table = ApiKeyTable(
        ApiKey.objects.filter(pk__in=ids),
        order_by=sort,
        show_owner=principal.can_read_all_keys,
        can_delete=lambda key: deletable is not None and (principal.can_manage_all_keys or key.owner_id == owner_id),
    )
    table.paginate(paginator_class=WindowPaginator, per_page=per_page, page=page, total=total)
    context = {
        "table": table,
        "filters": filters,
        "counts": counts,
        "has_any_key": total > 0 or visible.exists(),
        "can_create": principal.can_manage_own_keys,
        "can_delete": deletable is not None,
        "can_delete_expired": principal.can_manage_all_keys,
        "own_keys_only": not principal.can_read_all_keys,
        "show_owner": principal.can_read_all_keys,
        "per_page": per_page,
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
    principal = principal_of(request)
    if not principal.can_manage_own_keys:
        raise PermissionDenied("You do not have permission to manage API keys")
    form = CreateKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.create_api_key(principal, form.to_body())
        except ServiceError as exc:
            form.add_error(None, exc.reason)
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


def read_only_reason(principal: Principal, key: ApiKey) -> str | None:
    if key.managed:
        return "This API key is managed by the system. You can't update it."
    if key.owner_id != principal.user.pk:
        return "You can't update this API key. It belongs to another user."
    if key.invalidated:
        return "This API key has been deleted. You can no longer update it."
    if key.is_expired():
        return "This API key has expired. You can no longer update it."
    if not principal.can_manage_own_keys:
        return "You do not have permission to update API keys."
    return None


@login_required
@require_http_methods(["GET", "POST"])
def key_detail(request: HttpRequest, key_id: str) -> HttpResponse:
    principal = principal_of(request)
    key = visible_key_or_404(principal, key_id)
    reason = read_only_reason(principal, key)
    initial = {"role_descriptors": pretty(key.role_descriptors), "metadata": pretty(key.metadata)}
    form = UpdateKeyForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        if reason:
            raise PermissionDenied(reason)
        if form.is_valid():
            try:
                services.update_api_key(principal, key.id, form.to_body())
            except ServiceError as exc:
                form.add_error(None, exc.reason)
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
    principal = principal_of(request)
    key = visible_key_or_404(principal, key_id)
    form = CheckPrivilegesForm(request.POST)
    results: list[tuple[str, bool]] = []
    error = None
    if form.is_valid():
        try:
            answer = has_privileges(key_role_sets(key.role_descriptors, key.limited_by), form.to_request())
        except ValueError as exc:
            error = str(exc)
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
    deletable = deletable.filter(invalidated__in=[False])
    if params.get("expired") == "1":
        if not principal.can_manage_all_keys:
            raise PermissionDenied("Only administrators can delete all expired API keys")
        return deletable.filter(compile_query(STATUS_QUERIES["expired"])), None, "expired"
    if params.get("all") == "1":
        filters = KeyFilterForm(params)
        return deletable.filter(compile_query(filters.query())), None, "matching"
    ids = [i for i in params.getlist("id") if i]
    if not ids:
        raise Http404("Choose the API keys to delete")
    return deletable, ids, "ids"


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def delete_keys(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
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
        "filter_fields": [(k, params.get(k, "")) for k in ("q", "type", "status", "owner")],
    }
    return render_page_or_fragment(request, "apikeys/delete.html", "apikeys/_confirm_delete.html", context)


# --- Audit log --------------------------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    principal = principal_of(request)
    if not principal.has_cluster("manage_security"):
        raise PermissionDenied("Only administrators can read the audit log")
    filters = AuditFilterForm(request.GET)
    events = filters.events()
    paginator = Paginator(events, AUDIT_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"filters": filters, "page": page, "query_string": request.GET.urlencode()}
    return render(request, "apikeys/audit.html", context)
