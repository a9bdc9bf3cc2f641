"""The console's middleware, on the console's routes only.

Sessions, messages, CSRF, the signed-in user, htmx and static files are for people in browsers. The JSON API
(`/_security/...`) knows its caller by the `Authorization` header alone and renders no page, so its requests
skip them: no session is read or saved, no cookie is set, no CSRF token is asked for, and a cookie can never
stand for a credential. Every other path (the console, Django admin, static files, `/openapi.json`) goes
through `settings.CONSOLE_MIDDLEWARE` in its order, exactly as if those were listed in `MIDDLEWARE` where
`ConsoleMiddleware` stands (their `process_view` hooks included: that is where CSRF is checked).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

API_PREFIX = "/_security"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


class ConsoleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        handler: Callable[[HttpRequest], HttpResponse] = get_response
        self.view_hooks: list[Callable[..., HttpResponse | None]] = []
        for path in reversed(settings.CONSOLE_MIDDLEWARE):  # built inside out, as Django builds MIDDLEWARE
            instance = import_string(path)(handler)
            if hasattr(instance, "process_template_response") or hasattr(instance, "process_exception"):
                raise ImproperlyConfigured(f"{path}: only process_view hooks are run for CONSOLE_MIDDLEWARE")
            if hasattr(instance, "process_view"):
                self.view_hooks.insert(0, instance.process_view)
            handler = convert_exception_to_response(instance)
        self.console = handler

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request) if is_api(request) else self.console(request)

    def process_view(self, request: HttpRequest, view: Callable, args: Any, kwargs: Any) -> HttpResponse | None:
        if is_api(request):
            return None
        for hook in self.view_hooks:
            if (response := hook(request, view, args, kwargs)) is not None:
                return response
        return None
