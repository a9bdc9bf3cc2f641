"""Cloning a key from its page: the dialog (or, without JavaScript, a page) naming the clone and choosing its
expiration, then the new key shown once, as after create. The owner clones by id, not by the key's secret,
which nobody can see again (`services.clone`)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from apikeys import services
from apikeys.access.permissions import clone_refusal
from apikeys.access.principals import Principal
from apikeys.console.forms import CloneKeyForm
from apikeys.console.pages import new_key_dialog, visible_key_or_404


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def clone_key(request: HttpRequest, key_id: str) -> HttpResponse:
    principal = Principal.signed_in(request)
    key = visible_key_or_404(principal, key_id)
    form = CloneKeyForm(request.POST or None, initial={"name": key.name})
    return new_key_dialog(
        request,
        key,
        form,
        clone_refusal(principal, key),
        "clone",
        "Clone API key",
        make=lambda: services.clone_own_api_key(principal, key.id, form.to_body()),
        shown=lambda created: {
            "heading": f"Cloned API key '{created.key.name}'",
            "heading_id": "clone-title",
            "done_url": reverse("key_list"),
        },
    )
