"""OAuth2 tokens, as Elasticsearch's token service issues them (`/_security/oauth2/token`): a bearer access token
that expires (`APIKEYS_TOKEN_EXPIRATION_SECONDS`, 20 minutes by default) and, for the password grant, a refresh
token that may be used once within `APIKEYS_REFRESH_TOKEN_EXPIRATION_SECONDS` (24 hours) by the client that
asked for it. Tokens are 256 random bits and stored only as SHA-256 hashes: a database dump holds none. Who a
bearer token stands for is the access layer's to tell (`access.tokens`)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate as authenticate_password
from django.db import transaction
from django.db.models import Q, QuerySet

from apikeys.access.principals import Principal
from apikeys.access.tokens import token_hash
from apikeys.domain.durations import now_ms
from apikeys.domain.errors import ApiError, AuthenticationFailed, TokenRefused, ValidationFailed
from apikeys.domain.privileges import actions
from apikeys.models import NATIVE_REALM, SERVICE_ACCOUNT_REALM, Token, User
from apikeys.records import audit
from apikeys.services.validation import reject_unknown_fields, require_object

log = logging.getLogger(__name__)

TOKEN_FIELDS = {"grant_type", "username", "password", "refresh_token", "scope", "kerberos_ticket"}
INVALIDATE_TOKEN_FIELDS = {"token", "refresh_token", "realm_name", "username"}
# Per grant type: the fields it needs; any other credential field is refused for it.
GRANT_FIELDS = {"password": ("username", "password"), "client_credentials": (), "refresh_token": ("refresh_token",)}
CREDENTIAL_FIELDS = ("username", "password", "refresh_token", "kerberos_ticket")


def _grant_type(body: Mapping[str, Any]) -> str:
    """The request's grant type, its fields checked: every problem at once, as `invalid_request`."""
    grant_type = body.get("grant_type")
    if grant_type is not None and not isinstance(grant_type, str):
        raise TokenRefused("invalid_request", "[grant_type] must be a string")
    if grant_type and grant_type not in GRANT_FIELDS:
        raise TokenRefused("unsupported_grant_type", f"grant_type [{grant_type}] is not supported")
    problems = []
    if not grant_type:
        problems.append("grant_type is missing")
    else:
        for field in CREDENTIAL_FIELDS:
            given = body.get(field) is not None
            if field in GRANT_FIELDS[grant_type] and (not given or not isinstance(body[field], str) or not body[field]):
                problems.append(f"{field} is missing")
            elif field not in GRANT_FIELDS[grant_type] and given:
                problems.append(f"{field} is not supported with the {grant_type} grant_type")
    if body.get("scope") is not None and not isinstance(body["scope"], str):
        problems.append("scope must be a string")
    if problems:
        raise TokenRefused("invalid_request", ValidationFailed(*problems).reason)
    return grant_type


def create_token(principal: Principal, body: Any) -> dict[str, Any]:
    """A new access token (and refresh token) for the grant the body names."""
    principal.require(actions.TOKEN_CREATE)
    body = require_object(body, "token_request")
    reject_unknown_fields(body, TOKEN_FIELDS, "token_request")
    grant_type = _grant_type(body)
    with transaction.atomic():
        if grant_type == "refresh_token":
            user = _redeem_refresh_token(principal, body["refresh_token"])
            action = audit.Action.TOKEN_REFRESH
        elif grant_type == "password":
            user = authenticate_password(username=body["username"], password=body["password"])
            if user is None or not user.is_active or user.is_service_account:
                raise AuthenticationFailed(
                    f"unable to authenticate user [{body['username']}] for REST request [/_security/oauth2/token]",
                    username=body["username"],
                )
            action = audit.Action.TOKEN_CREATE
        else:
            if principal.api_key is not None:
                raise ApiError("an API key cannot create a token with the client_credentials grant_type")
            user, action = principal.user, audit.Action.TOKEN_CREATE
        access, refresh = _issue(
            user, principal.user.username, grant_type, with_refresh=grant_type != "client_credentials"
        )
        audit.record(
            action, actor=principal.user.audit_name, target=user.username, client_address=principal.client_address
        )
    log.info("token issued grant_type=%s user=%s by=%s", grant_type, user.username, principal.user.audit_name)
    out: dict[str, Any] = {
        "access_token": access,
        "type": "Bearer",
        "expires_in": settings.APIKEYS_TOKEN_EXPIRATION_SECONDS,
    }
    if body.get("scope"):
        out["scope"] = body["scope"]
    if refresh is not None:
        out["refresh_token"] = refresh
    out["authentication"] = Principal.for_user(user).authentication()
    return out


def _issue(user: User, client: str, grant_type: str, with_refresh: bool) -> tuple[str, str | None]:
    now = now_ms()
    access = secrets.token_urlsafe(32)
    refresh = secrets.token_urlsafe(32) if with_refresh else None
    Token.objects.create(
        access_hash=token_hash(access),
        refresh_hash=token_hash(refresh) if refresh else None,
        user=user,
        client=client,
        grant_type=grant_type,
        created=now,
        expires=now + timedelta(seconds=settings.APIKEYS_TOKEN_EXPIRATION_SECONDS),
        refresh_expires=now + timedelta(seconds=settings.APIKEYS_REFRESH_TOKEN_EXPIRATION_SECONDS) if refresh else None,
    )
    return access, refresh


def _redeem_refresh_token(principal: Principal, refresh_token: str) -> User:
    """Use up a refresh token (once only, by the client it was issued to); the user it was issued for."""
    token = (
        Token.objects.select_for_update().select_related("user").filter(refresh_hash=token_hash(refresh_token)).first()
    )
    if token is None:
        raise TokenRefused("invalid_grant", "could not refresh the requested token")
    if token.invalidated:
        raise TokenRefused("invalid_grant", "token has been invalidated")
    if token.refreshed:
        raise TokenRefused("invalid_grant", "token has already been refreshed")
    if token.refresh_expires is None or token.refresh_expires <= now_ms():
        raise TokenRefused("invalid_grant", "refresh token is expired")
    if token.client != principal.user.username:
        raise TokenRefused("invalid_grant", "tokens must be refreshed by the creating client")
    if not token.user.is_active:
        raise TokenRefused("invalid_grant", f"the user [{token.user.username}] is disabled")
    token.refreshed = True
    token.save(update_fields=["refreshed"])
    return token.user


def invalidate_tokens(principal: Principal, body: Any) -> dict[str, Any]:
    """Invalidate one access or refresh token (with its pair), or every token of a user and/or realm."""
    principal.require(actions.TOKEN_INVALIDATE)
    body = require_object(body, "invalidate_token")
    reject_unknown_fields(body, INVALIDATE_TOKEN_FIELDS, "invalidate_token")
    for field in INVALIDATE_TOKEN_FIELDS:
        if body.get(field) is not None and not isinstance(body[field], str):
            raise ValidationFailed(f"[{field}] must be a string")
    token, refresh = body.get("token"), body.get("refresh_token")
    username, realm = body.get("username"), body.get("realm_name")
    problems = []
    if token and refresh:
        problems.append("only one of [token, refresh_token] may be sent per request")
    if (username or realm) and (token or refresh):
        problems.append("token string must not be provided when realm name or username is specified")
    if not (token or refresh or username or realm):
        problems.append("token string must be provided when not specifying a realm name or a username")
    if problems:
        raise ValidationFailed(*problems)
    with transaction.atomic():
        tokens = _named_tokens(token, refresh, username, realm).select_for_update()
        rows = list(tokens.values_list("id", "invalidated", "refresh_hash"))
        # Elasticsearch counts an access token and its refresh token apart when it invalidates a user's tokens.
        pairs = token is None and refresh is None
        weight = {row[0]: (2 if pairs and row[2] else 1) for row in rows}
        newly = [row[0] for row in rows if not row[1]]
        Token.objects.filter(id__in=newly).update(invalidated=True)
        if newly:
            audit.record(
                audit.Action.TOKEN_INVALIDATE,
                actor=principal.user.audit_name,
                target=username or realm or "",
                client_address=principal.client_address,
                count=len(newly),
            )
    return {
        "invalidated_tokens": sum(weight[i] for i in newly),
        "previously_invalidated_tokens": sum(weight[row[0]] for row in rows if row[1]),
        "error_count": 0,
    }


def _named_tokens(token: str | None, refresh: str | None, username: str | None, realm: str | None) -> QuerySet:
    if token:
        return Token.objects.filter(access_hash=token_hash(token))
    if refresh:
        return Token.objects.filter(refresh_hash=token_hash(refresh))
    scope = Q()
    if username:
        scope &= Q(user__username=username)
    if realm:
        realms = {
            NATIVE_REALM: Q(user__is_service_account=False, user__external_realm=""),
            SERVICE_ACCOUNT_REALM: Q(user__is_service_account=True),
        }
        scope &= realms.get(realm, Q(user__external_realm=realm))
    return Token.objects.filter(scope)


def purge_tokens() -> int:
    """Delete tokens nobody can use any more: the access token expired and the refresh token too (or used)."""
    now = now_ms()
    done = Q(expires__lt=now) & (Q(refresh_expires__isnull=True) | Q(refresh_expires__lt=now) | Q(refreshed=True))
    deleted, _ = Token.objects.filter(done | Q(invalidated=True, expires__lt=now)).delete()
    return deleted
