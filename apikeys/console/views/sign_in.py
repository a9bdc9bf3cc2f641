"""Signing in: Django's form, locked for a while after repeated failures, and turned off when only the
organisation's provider may sign people in (`APIKEYS_PASSWORD_SIGN_IN=false`)."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_http_methods

from apikeys.infra import caching
from apikeys.infra.http import client_address
from apikeys.records import audit


# Checked first: LoginView redirects a signed-in caller whatever the method, so PUT or DELETE got a 302.
@method_decorator(require_http_methods(["GET", "HEAD", "POST"]), name="dispatch")
class SignInView(auth_views.LoginView):
    """Django's sign-in, locked for a while after repeated failures for one username from one address."""

    redirect_authenticated_user = True

    def _scope(self) -> str:
        username = self.request.POST.get("username", "")[:150].lower()
        return f"sign-in:{username}:{client_address(self.request) or ''}"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.APIKEYS_PASSWORD_SIGN_IN:  # only the organisation's provider signs people in
            return HttpResponseForbidden("Signing in with a password is turned off: use single sign-on.")
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
