"""What every console view shares: rendering a page or its htmx fragment, the keys-changed event, a key the
signed-in user may see."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apikeys.access.principals import Principal
from apikeys.models import ApiKey

KEYS_CHANGED = "apikeys-changed"


def render_page_or_fragment(
    request: HttpRequest, page: str, fragment: str, context: dict[str, Any], **kwargs
) -> HttpResponse:
    return render(request, fragment if request.htmx and not request.htmx.boosted else page, context, **kwargs)


def visible_key_or_404(principal: Principal, key_id: str) -> ApiKey:
    visible = principal.visible_keys()
    key = visible.select_related("owner").filter(pk=key_id).first() if visible is not None else None
    if key is None:
        raise Http404("No such API key")
    return key
