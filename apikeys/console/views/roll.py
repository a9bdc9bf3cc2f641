"""Rolling a key from its page: the dialog (or, without JavaScript, a page) choosing when the old key stops
working, then the new key shown once, as after create."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from apikeys import services
from apikeys.access.permissions import Refused, roll_refusal
from apikeys.access.principals import Principal
from apikeys.console.forms import RollKeyForm
from apikeys.console.pages import render_page_or_fragment, visible_key_or_404
from apikeys.console.presenters import key_formats, old_key_stops, read_only_reason
from apikeys.domain.errors import ApiError
from apikeys.models import ApiKey


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def roll_key(request: HttpRequest, key_id: str) -> HttpResponse:
    principal = Principal.signed_in(request)
    key = visible_key_or_404(principal, key_id)
    refusal = roll_refusal(principal, key)
    if request.method == "GET" and refusal:
        raise PermissionDenied(read_only_reason(refusal, key))
    form = RollKeyForm(request.POST or None)
    context = {"key": key, "form": form}
    if request.method == "POST" and form.is_valid() and refusal:
        form.add_error(None, read_only_reason(refusal, key))  # the dialog was opened before someone changed it
    elif request.method == "POST" and form.is_valid():
        try:
            created = services.roll_api_key(principal, key.id, form.to_body())
        except Refused as refused:
            form.add_error(None, read_only_reason(refused.refusal, key))
        except ApiError as error:
            form.add_error(None, error.message)
        else:
            context.update(
                created=created,
                formats=key_formats(created, request),
                heading=f"Rolled API key '{key.name}'",
                heading_id="roll-title",
                done_url=reverse("key_detail", args=[key.id]),
                old_key_stops=old_key_stops(ApiKey.objects.get(pk=key.id)),
            )
            return render_page_or_fragment(request, "apikeys/roll.html", "apikeys/_created.html", context)
    # htmx swaps only 2xx answers: the dialog gets its errors with a 200, a plain form post a 400.
    status = 400 if request.method == "POST" and not request.htmx else 200
    fragment = "apikeys/_roll_form.html" if request.method == "POST" else "apikeys/_roll_dialog.html"
    return render_page_or_fragment(request, "apikeys/roll.html", fragment, context, status=status)
