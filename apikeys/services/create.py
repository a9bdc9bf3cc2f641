"""New keys: created by their owner, granted on a user's behalf, or made by the system for itself."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate as authenticate_password
from django.db import transaction

from apikeys.access.principals import Principal, user_roles
from apikeys.access.tokens import authenticate_token, is_jwt
from apikeys.domain import keys
from apikeys.domain.durations import epoch_millis, now_ms
from apikeys.domain.errors import ApiError, AuthenticationFailed, Forbidden, ParseFailed, ValidationFailed
from apikeys.domain.privileges import actions, can_run_as, grants_nothing
from apikeys.models import SERVICE_ACCOUNT_USERNAME, ApiKey, User
from apikeys.records import audit
from apikeys.services.validation import (
    KeyRequest,
    parse_cross_cluster_request,
    parse_key_request,
    reject_unknown_fields,
    require_object,
    validate_expiration,
    validate_name,
)
from apikeys.services.writes import keys_written

log = logging.getLogger(__name__)

GRANT_FIELDS = {"grant_type", "username", "password", "access_token", "run_as", "client_authentication", "api_key"}
BULK_GRANT_FIELDS = GRANT_FIELDS - {"api_key"} | {"api_keys"}
# Per grant type: the credential fields it needs (the others are refused).
GRANT_CREDENTIALS = {"password": ("username", "password"), "access_token": ("access_token",)}
# `client_authentication` (`scheme` and `value`, both required): a JWT's client credential, so only with an access
# token, and only in the one scheme Elasticsearch's JWT realms know.
CLIENT_AUTHENTICATION_FIELDS = ("scheme", "value")
CLIENT_AUTHENTICATION_GRANT_TYPE = "access_token"
SHARED_SECRET_SCHEME = "SharedSecret"


@dataclass
class CreatedKey:
    key: ApiKey
    secret: str

    @property
    def encoded(self) -> str:
        return keys.encode(self.key.id, self.secret)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.key.id, "name": self.key.name}
        if self.key.expiration:
            out["expiration"] = epoch_millis(self.key.expiration)
        out["api_key"] = self.secret
        out["encoded"] = self.encoded
        if self.key.rolled_from:
            out["rolled_from"] = self.key.rolled_from
        return out


def insert_key(
    owner: User,
    request: KeyRequest,
    limited_by: dict[str, dict],
    by: Principal | None,
    action: str | None = audit.Action.CREATE,
    rolled_from: str | None = None,
    **details: Any,
) -> CreatedKey:
    """Write a key (its secret only hashed), audited as `action` with `details` (None: the caller audits it)."""
    secret = keys.generate_secret(settings.APIKEYS_SECRET_FORMAT)
    key = ApiKey.objects.create(
        id=keys.generate_id(),
        name=request.name,
        owner=owner,
        username=owner.username,
        realm=owner.realm,
        creation=now_ms(),
        expiration=request.expiration,
        hash=keys.hash_secret(secret, settings.APIKEYS_HASH_ALGORITHM),
        role_descriptors=request.role_descriptors,
        limited_by=limited_by,
        metadata=request.metadata,
        type=request.type,
        access=request.access,
        certificate_identity=request.certificate_identity,
        rolled_from=rolled_from,
        allowed_ips=request.allowed_ips,
        secret_digest=keys.digest(secret) if keys.is_recognisable(secret) else None,
    )
    if action is not None:
        audit.record(
            action,
            actor=by.user.audit_name if by else "system",
            key_id=key.id,
            target=key.name,
            client_address=by.client_address if by else None,
            owner=owner.username,
            **details,
            # Who the owner is needs the realm when it is not the native one (the provider's alice is another).
            **({"realm": owner.realm} if owner.external_realm else {}),
        )
    keys_written([])
    log.info("api key created id=%s name=%r owner=%s", key.id, key.name, owner.username)
    return CreatedKey(key, secret)


def create_api_key(principal: Principal, body: Any) -> CreatedKey:
    if not principal.can_manage_own_keys:
        raise principal.denied(actions.API_KEY_CREATE)
    request = parse_key_request(body)
    if principal.api_key is not None and (
        not request.role_descriptors or not all(grants_nothing(d) for d in request.role_descriptors.values())
    ):
        raise ApiError(
            "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)"
        )
    with transaction.atomic():
        return insert_key(principal.user, request, principal.snapshot(), principal)


def create_cross_cluster_api_key(principal: Principal, body: Any) -> CreatedKey:
    """A key for a remote cluster: what it may search and replicate is its `access`; it has no `limited_by`
    (its privileges are what `access` says, whoever created it) and cannot call this API."""
    principal.require(actions.CROSS_CLUSTER_CREATE)
    if principal.api_key is not None:
        raise ApiError(
            "authentication via API key not supported: An API key cannot be used to create a cross-cluster API key"
        )
    request = parse_cross_cluster_request(body)
    with transaction.atomic():
        return insert_key(principal.user, request, {}, principal)


def grant_api_key(principal: Principal, body: Any) -> CreatedKey:
    """A key for another user, who lends their credentials (a password or an access token) for it."""
    if not principal.has_cluster("grant_api_key"):
        raise principal.denied(actions.API_KEY_GRANT)
    body = require_object(body, "grant_api_key")
    reject_unknown_fields(body, GRANT_FIELDS, "grant_api_key")
    problems = _grant_problems(body)
    if not isinstance(body.get("api_key"), Mapping):
        problems.append("[api_key] is required")
    if problems:
        raise ValidationFailed(*problems)
    request = parse_key_request(body["api_key"], "grant_api_key.api_key")
    owner = _grantor(body, actions.API_KEY_GRANT)
    with transaction.atomic():
        return insert_key(owner, request, user_roles(owner), principal, audit.Action.GRANT)


def bulk_grant_api_keys(principal: Principal, body: Any) -> list[CreatedKey]:
    """Several keys for one user and one lent credential: every request checked before any key is written."""
    if not principal.has_cluster("grant_api_key"):
        raise principal.denied(actions.API_KEY_BULK_GRANT)
    body = require_object(body, "bulk_grant_api_key")
    reject_unknown_fields(body, BULK_GRANT_FIELDS, "bulk_grant_api_key")
    problems = _grant_problems(body)
    requests = body.get("api_keys")
    if requests is not None and not isinstance(requests, list):
        raise ParseFailed("[bulk_grant_api_key] field [api_keys] must be an array of objects")
    if not requests:
        problems.append("[api_keys] must not be empty")
    if problems:
        raise ValidationFailed(*problems)
    parsed = [parse_key_request(r, f"bulk_grant_api_key.api_keys[{i}]") for i, r in enumerate(requests)]
    owner = _grantor(body, actions.API_KEY_BULK_GRANT)
    limited_by = user_roles(owner)
    with transaction.atomic():
        return [insert_key(owner, request, limited_by, principal, audit.Action.GRANT) for request in parsed]


def _grant_problems(body: Mapping[str, Any]) -> list[str]:
    """What is wrong with a grant's credentials, in Elasticsearch's words (its `Grant.validate`)."""
    grant_type = body.get("grant_type")
    if not grant_type:
        return ["[grant_type] is required"]
    if grant_type not in GRANT_CREDENTIALS:
        return [f"grant_type [{grant_type}] is not supported"]
    problems = []
    for field in ("username", "password", "access_token"):
        given = body.get(field) is not None
        if field in GRANT_CREDENTIALS[grant_type] and (not isinstance(body.get(field), str) or not body[field]):
            problems.append(f"[{field}] is required for grant_type [{grant_type}]")
        elif field not in GRANT_CREDENTIALS[grant_type] and given:
            problems.append(f"[{field}] is not supported for grant_type [{grant_type}]")
    if body.get("run_as") is not None and not isinstance(body["run_as"], str):
        problems.append("[run_as] must be a string")
    if (client := _client_authentication(body)) is not None:
        if grant_type != CLIENT_AUTHENTICATION_GRANT_TYPE:
            problems.append(f"[client_authentication] is not supported for grant_type [{grant_type}]")
        elif client["scheme"].strip() != SHARED_SECRET_SCHEME:
            problems.append(f"[client_authentication.scheme] must be set to [{SHARED_SECRET_SCHEME}]")
    return problems


def _client_authentication(body: Mapping[str, Any]) -> Mapping[str, str] | None:
    """`client_authentication` when given, read as Elasticsearch parses it: an object of two strings."""
    given = body.get("client_authentication")
    if given is None:
        return None
    if not isinstance(given, Mapping):
        raise ParseFailed("[client_authentication] must be an object")
    reject_unknown_fields(given, set(CLIENT_AUTHENTICATION_FIELDS), "client_authentication")
    if missing := [field for field in CLIENT_AUTHENTICATION_FIELDS if given.get(field) is None]:
        raise ParseFailed(f"[client_authentication] Required [{', '.join(missing)}]")
    for field in CLIENT_AUTHENTICATION_FIELDS:
        if not isinstance(given[field], str):
            raise ParseFailed(f"[client_authentication] field [{field}] must be a string")
    return given


def _grantor(body: Mapping[str, Any], action: str) -> User:
    """Who will own the granted keys: the user the credentials authenticate, or the user it runs as."""
    if body["grant_type"] == "password":
        user = authenticate_password(username=body["username"], password=body["password"])
        if user is None or not user.is_active or user.is_service_account:
            raise Forbidden(f"unable to authenticate user [{body['username']}] for action [{action}]")
    else:
        if body.get("client_authentication") is not None and not is_jwt(body["access_token"]):
            # Only a JWT carries a client credential; Elasticsearch refuses before authenticating anything.
            raise ApiError(
                "[client_authentication] not supported with the supplied access_token type",
                error_type="security_exception",
            )
        try:
            user = authenticate_token(body["access_token"])
        except AuthenticationFailed as failure:
            reason = f"unable to authenticate with the access token for action [{action}]: {failure.reason}"
            raise Forbidden(reason) from failure
    if body.get("run_as") is None:
        return user
    run_as = body["run_as"]
    granted = Principal.for_user(user)
    target = User.objects.filter(username=run_as, is_active=True, is_service_account=False, external_realm="").first()
    if target is None or not can_run_as(granted.role_sets, run_as):
        raise granted.denied(action, run_as=run_as)
    return target


def create_managed_api_key(name: str, expiration: str | None = None) -> CreatedKey:
    """A key the system owns for its own background tasks (`metadata.managed: true`)."""
    request = KeyRequest(validate_name(name), validate_expiration(expiration), {}, {"managed": True})
    with transaction.atomic():
        account, _ = User.objects.get_or_create(
            username=SERVICE_ACCOUNT_USERNAME,
            defaults={"is_service_account": True, "full_name": "Console service account"},
        )
        if account.has_usable_password():
            account.set_unusable_password()
            account.save(update_fields=["password"])
        return insert_key(account, request, {}, None)
