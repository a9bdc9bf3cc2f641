"""Rolling a key from its page: the dialog (or, without JavaScript, a page) choosing when the old key stops
working, then the new key shown once, as after create."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from apikeys import services
from apikeys.access.permissions import roll_refusal
from apikeys.access.principals import Principal
from apikeys.console.forms import RollKeyForm
from apikeys.console.pages import new_key_dialog, visible_key_or_404
from apikeys.console.presenters import old_key_stops
from apikeys.models import ApiKey


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def roll_key(request: HttpRequest, key_id: str) -> HttpResponse:
    principal = Principal.signed_in(request)
    key = visible_key_or_404(principal, key_id)
    form = RollKeyForm(request.POST or None)
    return new_key_dialog(
        request,
        key,
        form,
        roll_refusal(principal, key),
        "roll",
        "Roll API key",
        make=lambda: services.roll_api_key(principal, key.id, form.to_body()),
        shown=lambda created: {
            "heading": f"Rolled API key '{key.name}'",
            "heading_id": "roll-title",
            "done_url": reverse("key_detail", args=[key.id]),
            "old_key_stops": old_key_stops(ApiKey.objects.get(pk=key.id)),
        },
    )
