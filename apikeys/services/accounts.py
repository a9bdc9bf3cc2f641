"""Writes to roles and users (the role and user endpoints). Each is one transaction."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.password_validation import ValidationError, validate_password
from django.db import transaction

from apikeys.access.principals import Principal, user_role_names
from apikeys.domain.errors import ApiError, ParseFailed, ValidationFailed, reject_unknown
from apikeys.domain.privileges import RESERVED_ROLES, actions, validate_role_descriptor
from apikeys.models import Role, User
from apikeys.records import audit

log = logging.getLogger(__name__)

USER_FIELDS = {"password", "roles", "full_name", "email", "metadata", "enabled"}


def _check_role_name(name: str) -> None:
    if name in RESERVED_ROLES:
        raise ApiError(f"role [{name}] is reserved and cannot be modified")
    if not name or len(name) > 507 or name != name.strip():
        raise ValidationFailed("role name must be 1 to 507 characters with no leading or trailing whitespace")


def put_role(principal: Principal, name: str, body: Any) -> bool:
    """Create or replace a role; True when it was created."""
    principal.require(actions.ROLE_PUT)
    _check_role_name(name)
    descriptor = validate_role_descriptor(name, body)
    with transaction.atomic():
        _, created = Role.objects.update_or_create(name=name, defaults={"descriptor": descriptor})
        audit.record(
            audit.Action.ROLE_CHANGE,
            principal.user.username,
            target=name,
            client_address=principal.client_address,
            created=created,
        )
    log.info("role %s name=%s by=%s", "created" if created else "updated", name, principal.user.username)
    return created


def delete_role(principal: Principal, name: str) -> bool:
    principal.require(actions.ROLE_DELETE)
    _check_role_name(name)
    with transaction.atomic():
        deleted, _ = Role.objects.filter(name=name).delete()
        if deleted:
            audit.record(
                audit.Action.ROLE_DELETE, principal.user.username, target=name, client_address=principal.client_address
            )
    return bool(deleted)


def role_descriptors(names: list[str] | None) -> dict[str, dict]:
    """Roles by name (every role when `names` is None), the built-in ones included."""
    roles = {**RESERVED_ROLES, **{r.name: r.descriptor for r in Role.objects.all()}}
    if names is None:
        return dict(sorted(roles.items()))
    return {n: roles[n] for n in names if n in roles}


def _validate_user_body(username: str, body: Any, creating: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ParseFailed("request body for [put_user] must be a JSON object")
    reject_unknown(body, USER_FIELDS, "failed to parse add user request. unexpected field [{}]")
    problems = []
    if (
        not username
        or len(username) > 150
        or username != username.strip()
        or username.startswith("_")
        or "/" in username
    ):
        problems.append("invalid username: 1 to 150 characters, no leading underscore, no slash, no surrounding spaces")
    password = body.get("password")
    if password is not None:
        if not isinstance(password, str):
            problems.append("[password] must be a string")
        else:
            try:
                validate_password(password)
            except ValidationError as exc:
                problems.extend(exc.messages)
    elif creating:
        problems.append("password must be specified unless you are updating an existing user")
    roles = body.get("roles")
    if roles is not None and (not isinstance(roles, list) or not all(isinstance(r, str) for r in roles)):
        problems.append("[roles] must be an array of role names")
    for field in ("full_name", "email"):
        if body.get(field) is not None and not isinstance(body[field], str):
            problems.append(f"[{field}] must be a string")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        problems.append("[metadata] must be an object")
    elif metadata and any(k.startswith("_") for k in metadata):
        problems.append("metadata keys may not start with [_]")
    if body.get("enabled") is not None and not isinstance(body["enabled"], bool):
        problems.append("[enabled] must be a boolean")
    if problems:
        raise ValidationFailed(*problems)
    return body


def put_user(principal: Principal, username: str, body: Any) -> bool:
    """Create or update a native user; True when it was created."""
    principal.require(actions.USER_PUT)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username, external_realm="").first()
        if user is not None and user.is_service_account:
            raise ApiError(f"user [{username}] is a service account and cannot be changed")
        body = _validate_user_body(username, body, creating=user is None)
        created = user is None
        user = user or User(username=username)
        if body.get("password") is not None:
            user.set_password(body["password"])
        for field in ("full_name", "email"):
            if field in body:
                setattr(user, field, body[field] or "")
        if "metadata" in body:
            user.metadata = body["metadata"] or {}
        if body.get("enabled") is not None:
            user.is_active = body["enabled"]
        if body.get("roles") is not None:
            # Names are kept as given: a role that does not exist yet grants nothing until it is created.
            user.role_names = list(dict.fromkeys(body["roles"]))
            user.is_superuser = user.is_staff = "superuser" in body["roles"]
        user.save()
        changed = sorted(k for k in body if k != "password") + (["password"] if "password" in body else [])
        audit.record(
            audit.Action.USER_CHANGE,
            principal.user.username,
            target=username,
            client_address=principal.client_address,
            created=created,
            fields=changed,
        )
    log.info("user %s username=%s by=%s", "created" if created else "updated", username, principal.user.username)
    return created


def delete_user(principal: Principal, username: str) -> bool:
    principal.require(actions.USER_DELETE)
    if username == principal.user.username:
        raise ApiError("users may not delete themselves")
    with transaction.atomic():
        deleted, _ = User.objects.filter(username=username, external_realm="", is_service_account=False).delete()
        if deleted:
            audit.record(
                audit.Action.USER_DELETE,
                principal.user.username,
                target=username,
                client_address=principal.client_address,
            )
    return bool(deleted)


def user_to_dict(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "roles": user_role_names(user),
        "full_name": user.full_name or None,
        "email": user.email or None,
        "metadata": user.metadata or {},
        "enabled": user.is_active,
    }
