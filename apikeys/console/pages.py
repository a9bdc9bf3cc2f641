"""What every console view shares: rendering a page or its htmx fragment, the keys-changed event, a key the
signed-in user may see (else 404)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apikeys.access.principals import Principal
from apikeys.models import ApiKey
from apikeys.readmodels.key_page import visible_key

KEYS_CHANGED = "apikeys-changed"


def render_page_or_fragment(
    request: HttpRequest, page: str, fragment: str, context: dict[str, Any], **kwargs
) -> HttpResponse:
    return render(request, fragment if request.htmx and not request.htmx.boosted else page, context, **kwargs)


def visible_key_or_404(principal: Principal, key_id: str) -> ApiKey:
    key = visible_key(principal, key_id)
    if key is None:
        raise Http404("No such API key")
    return key
