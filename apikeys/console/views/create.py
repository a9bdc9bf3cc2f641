"""Creating a key in the flyout (or its full page): a user API key or a cross-cluster key, shown once."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.console.forms import BOILERPLATES, EDITORS, CreateKeyForm, json_field_value, pretty
from apikeys.console.jsontext import JsonProblem
from apikeys.console.pages import KEYS_CHANGED, render_page_or_fragment
from apikeys.console.presenters import key_formats, problem_text
from apikeys.domain.errors import ApiError


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def create_key(request: HttpRequest) -> HttpResponse:
    principal = Principal.signed_in(request)
    if not principal.can_manage_own_keys:
        raise PermissionDenied("You do not have permission to manage API keys")
    form = CreateKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        create = services.create_cross_cluster_api_key if form.cross_cluster else services.create_api_key
        try:
            created = create(principal, form.to_body())
        except ApiError as error:
            form.add_error(None, problem_text(error))
        else:
            context = {"created": created, "formats": key_formats(created, request)}
            response = render_page_or_fragment(request, "apikeys/create.html", "apikeys/_created.html", context)
            return trigger_client_event(response, KEYS_CHANGED, {"id": created.key.id}) if request.htmx else response
    context = {
        "form": form,
        "boilerplates": {k: pretty(v) for k, v in BOILERPLATES.items()},
        "can_create_cross_cluster": principal.has_cluster("manage_security"),
    }
    if request.method == "POST":
        # htmx swaps only 2xx answers: the flyout gets its errors with a 200, a plain form post a 400.
        status = 200 if request.htmx else 400
        return render_page_or_fragment(
            request, "apikeys/create.html", "apikeys/_create_form.html", context, status=status
        )
    return render_page_or_fragment(request, "apikeys/create.html", "apikeys/_create_flyout.html", context)


@login_required
@require_POST
def validate_json(request: HttpRequest) -> HttpResponse:
    """The editors' validation as you type: the same validators the API uses."""
    field = request.POST.get("field", "")
    if field not in EDITORS:
        return HttpResponse("Unknown editor.", status=400)
    text = request.POST.get(field, "")
    problem = None
    if text.strip():
        try:
            json_field_value(field, text)
        except JsonProblem as exc:
            problem = exc
    return render(request, "apikeys/_json_status.html", {"problem": problem, "field": field})
