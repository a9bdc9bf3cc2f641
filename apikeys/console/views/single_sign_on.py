"""Signing in with the organisation's OpenID Connect provider (`infra/oidc.py`): the button sends the browser
there, the provider sends it back to the callback, which signs the person in as a user of the provider's realm
(`services/provider_users.py`). Every failure comes back to the sign-in page with a sentence and an audit event;
signing out also ends the provider's session when it offers to."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from apikeys.access import accounts
from apikeys.console.presenters import sign_in_problem
from apikeys.infra import oidc
from apikeys.infra.http import client_address
from apikeys.records import audit
from apikeys.services.provider_users import sign_in_provider_user

NEXT = "oidc_next"
ID_TOKEN = "oidc_id_token"


def _failed(request: HttpRequest, failure: oidc.SignInFailed) -> HttpResponse:
    audit.record(
        audit.Action.SIGN_IN_FAILURE,
        actor=failure.username,
        client_address=client_address(request),
        realm=settings.APIKEYS_OIDC_REALM,
        reason=failure.problem.value,
        detail=failure.detail[:200],
    )
    context = {"sso_problem": sign_in_problem(failure)}
    # 200, as Django answers a refused password: the page is the sign-in page, with a sentence; the audit
    # event says what happened.
    return render(request, "registration/login.html", context)


@require_GET
def start(request: HttpRequest) -> HttpResponse:
    if not oidc.configured():
        raise Http404("Single sign-on is not configured")
    wanted = request.GET.get("next", "")
    safe = url_has_allowed_host_and_scheme(wanted, {request.get_host()}, request.is_secure())
    request.session[NEXT] = wanted if safe else ""
    try:
        return oidc.authorization_redirect(request, request.build_absolute_uri(reverse("oidc_callback")))
    except oidc.SignInFailed as failure:
        return _failed(request, failure)


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    if not oidc.configured():
        raise Http404("Single sign-on is not configured")
    try:
        claims, id_token = oidc.verified_claims(request)
        user = sign_in_provider_user(claims, client_address(request))
    except oidc.SignInFailed as failure:
        return _failed(request, failure)
    wanted = request.session.get(NEXT) or settings.LOGIN_REDIRECT_URL
    login(request, user, backend=accounts.BACKEND)
    request.session[ID_TOKEN] = id_token
    return redirect(wanted)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    id_token = request.session.get(ID_TOKEN)
    logout(request)
    after = request.build_absolute_uri(reverse(settings.LOGOUT_REDIRECT_URL))
    provider_logout = oidc.end_session_url(id_token, after) if id_token else None
    return redirect(provider_logout or after)
