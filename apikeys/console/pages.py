"""What every console view shares: rendering a page or its htmx fragment, the keys-changed event, a key the
signed-in user may see (else 404), and the dialog on a key's page that makes a new key from it (roll, clone)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.http import trigger_client_event

from apikeys.access.permissions import Refusal, Refused
from apikeys.access.principals import Principal
from apikeys.console.presenters import key_formats, read_only_reason
from apikeys.domain.errors import ApiError
from apikeys.models import ApiKey
from apikeys.readmodels.key_page import visible_key
from apikeys.services import CreatedKey

KEYS_CHANGED = "apikeys-changed"
# The page a key's dialog is without JavaScript (roll, clone).
PAGE = "apikeys/key_action.html"


def render_page_or_fragment(
    request: HttpRequest, page: str, fragment: str, context: dict[str, Any], **kwargs
) -> HttpResponse:
    return render(request, fragment if request.htmx and not request.htmx.boosted else page, context, **kwargs)


def visible_key_or_404(principal: Principal, key_id: str) -> ApiKey:
    key = visible_key(principal, key_id)
    if key is None:
        raise Http404("No such API key")
    return key


def new_key_dialog(
    request: HttpRequest,
    key: ApiKey,
    form: forms.Form,
    refusal: Refusal | None,
    action: str,
    title: str,
    make: Callable[[], CreatedKey],
    shown: Callable[[CreatedKey], dict[str, Any]],
) -> HttpResponse:
    """The dialog on `key`'s page (without JavaScript, a page titled `title`) whose `form` makes a new key from
    it (`make`, once the form is valid), then shows that key once, as after create, with `shown`'s headings. Its
    fragments: `apikeys/_<action>_dialog.html` (opened) and `apikeys/_<action>_form.html` (the form alone)."""
    if request.method == "GET" and refusal:
        raise PermissionDenied(read_only_reason(refusal, key))
    form_template = f"apikeys/_{action}_form.html"
    context: dict[str, Any] = {
        "key": key,
        "form": form,
        "action": action,
        "page_title": title,
        "form_template": form_template,
    }
    if request.method == "POST" and form.is_valid():
        try:
            if refusal:  # the dialog was opened before someone changed the key
                raise Refused(refusal, key.id)
            created = make()
        except Refused as refused:
            form.add_error(None, read_only_reason(refused.refusal, key))
        except ApiError as error:
            form.add_error(None, error.message)
        else:
            context.update(created=created, formats=key_formats(created, request), **shown(created))
            response = render_page_or_fragment(request, PAGE, "apikeys/_created.html", context)
            return trigger_client_event(response, KEYS_CHANGED, {"id": created.key.id}) if request.htmx else response
    # htmx swaps only 2xx answers: the dialog gets its errors with a 200, a plain form post a 400.
    status = 400 if request.method == "POST" and not request.htmx else 200
    fragment = form_template if request.method == "POST" else f"apikeys/_{action}_dialog.html"
    return render_page_or_fragment(request, PAGE, fragment, context, status=status)
