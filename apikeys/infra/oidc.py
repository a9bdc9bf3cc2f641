"""Signing in with the organisation's OpenID Connect provider, through Authlib's Django client: the
authorization code flow with PKCE (S256), `state` and `nonce` kept in the session; the ID token's signature
checked against the provider's JWKS (remembered per process and fetched again when a token names a key it does
not hold: a provider's rotation is picked up), its issuer, audience and expiry with `CLOCK_SKEW_SECONDS`.

Every way it can fail is one `Problem`, told apart by the exception's class and attributes (never its text);
the console words each for people (`console/presenters.py`)."""

from __future__ import annotations

import enum
from typing import Any

import requests
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.django_client import DjangoOAuth2App
from authlib.integrations.django_client.integration import DjangoIntegration
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, InvalidKeyIdError, JoseError

CLOCK_SKEW_SECONDS = 60
NAME = "oidc"
# JWKS by their address: asked for once per process, and again when a token names a key not among them.
_jwks: dict[str, dict[str, Any]] = {}


class Problem(enum.StrEnum):
    UNREACHABLE = "provider_unreachable"
    TIMEOUT = "provider_timeout"
    REFUSED = "provider_refused"
    STATE = "state_mismatch"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_NONCE = "wrong_nonce"
    EXPIRED = "token_expired"
    BAD_SIGNATURE = "bad_signature"
    BAD_TOKEN = "bad_token"
    NO_USERNAME = "no_username"
    NO_ROLE = "no_role"
    DISABLED = "user_disabled"


class SignInFailed(Exception):
    def __init__(self, problem: Problem, detail: str = "", username: str = ""):
        super().__init__(f"{problem}: {detail}" if detail else str(problem))
        self.problem = problem
        self.detail = detail
        self.username = username


def configured() -> bool:
    return bool(settings.APIKEYS_OIDC_ISSUER and settings.APIKEYS_OIDC_CLIENT_ID)


def _client() -> DjangoOAuth2App:
    issuer = settings.APIKEYS_OIDC_ISSUER.rstrip("/")
    return DjangoOAuth2App(
        DjangoIntegration(NAME),
        name=NAME,
        client_id=settings.APIKEYS_OIDC_CLIENT_ID,
        client_secret=settings.APIKEYS_OIDC_CLIENT_SECRET,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": settings.APIKEYS_OIDC_SCOPES,
            "code_challenge_method": "S256",
            "default_timeout": settings.APIKEYS_OIDC_TIMEOUT_SECONDS,
        },
    )


def _metadata(client: DjangoOAuth2App) -> dict[str, Any]:
    metadata = client.load_server_metadata()
    if metadata.get("jwks_uri") in _jwks:
        metadata["jwks"] = _jwks[metadata["jwks_uri"]]
    return metadata


def _claim_problem(error: ClaimError) -> Problem:
    if isinstance(error, ExpiredTokenError):
        return Problem.EXPIRED
    return {"iss": Problem.WRONG_ISSUER, "aud": Problem.WRONG_AUDIENCE, "azp": Problem.WRONG_AUDIENCE}.get(
        error.claim, Problem.WRONG_NONCE if error.claim == "nonce" else Problem.BAD_TOKEN
    )


def _failure(error: Exception) -> SignInFailed:
    """What went wrong, from the exception's class and attributes."""
    if isinstance(error, requests.Timeout):
        return SignInFailed(Problem.TIMEOUT, type(error).__name__)
    if isinstance(error, (requests.RequestException, ValueError)):  # refused connection, HTTP error, not JSON
        return SignInFailed(Problem.UNREACHABLE, type(error).__name__)
    if isinstance(error, MismatchingStateError):
        return SignInFailed(Problem.STATE)
    if isinstance(error, OAuthError):
        return SignInFailed(Problem.REFUSED, f"{error.error}: {error.description or ''}".strip(": "))
    if isinstance(error, (BadSignatureError, InvalidKeyIdError)):
        return SignInFailed(Problem.BAD_SIGNATURE, type(error).__name__)
    if isinstance(error, ClaimError):
        return SignInFailed(_claim_problem(error), error.claim)
    return SignInFailed(Problem.BAD_TOKEN, type(error).__name__)


FAILURES = (requests.RequestException, ValueError, OAuthError, JoseError)


def authorization_redirect(request: HttpRequest, callback_url: str) -> HttpResponse:
    """Send the browser to the provider (its discovery document is read first: a provider that is down or
    slow fails here, on our page)."""
    client = _client()
    try:
        _metadata(client)
        return client.authorize_redirect(request, callback_url)
    except FAILURES as error:
        raise _failure(error) from error


def verified_claims(request: HttpRequest) -> tuple[dict[str, Any], str]:
    """The provider's answer to our callback: the code exchanged (with the PKCE verifier), the ID token
    verified; its claims with the userinfo endpoint's added, and the raw ID token (for signing out)."""
    client = _client()
    issuer = settings.APIKEYS_OIDC_ISSUER.rstrip("/")
    try:
        metadata = _metadata(client)
        options = {
            "iss": {"essential": True, "values": [metadata.get("issuer", issuer)]},
            "aud": {"essential": True, "values": [settings.APIKEYS_OIDC_CLIENT_ID]},
        }
        token = client.authorize_access_token(request, claims_options=options, leeway=CLOCK_SKEW_SECONDS)
        if "jwks" in client.server_metadata:
            _jwks[metadata["jwks_uri"]] = client.server_metadata["jwks"]
        if not token.get("userinfo"):
            raise SignInFailed(Problem.BAD_TOKEN, "no ID token")
        claims = dict(token["userinfo"])
        if metadata.get("userinfo_endpoint"):
            extra = dict(client.userinfo(token=token))
            if extra.get("sub") == claims.get("sub"):
                claims = {**extra, **claims}
    except FAILURES as error:
        raise _failure(error) from error
    return claims, token.get("id_token", "")


def end_session_url(id_token: str, after: str) -> str | None:
    """Where to send the browser to end the provider's session too, when it offers `end_session_endpoint`."""
    if not configured():
        return None
    client = _client()
    try:
        metadata = _metadata(client)
        if not metadata.get("end_session_endpoint"):
            return None
        return client.create_logout_url(post_logout_redirect_uri=after, id_token_hint=id_token or None)["url"]
    except FAILURES:
        return None
