"""Native users (the user endpoints): create or overwrite, delete, change a password, enable or disable, and a
user as the API shows it. Each write is one transaction with its audit event.

Bodies are read as Elasticsearch reads them, field by field in the order sent: a field of the wrong type or an
unknown one is a `parse_exception`; then the request's own checks (`roles are missing`); then the privilege;
then what only the stored users can tell (`user must exist in order to change password`). Putting a user
overwrites it as Elasticsearch does: the roles, full name, email and metadata given replace the stored ones
(those not given are cleared) and `enabled` is true unless given; only the password is kept when not given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction

from apikeys.access.principals import Principal, user_fields, user_role_names
from apikeys.domain import passwords
from apikeys.domain.errors import ApiError, InvalidRequest, ParseFailed, ValidationFailed
from apikeys.domain.privileges import actions
from apikeys.models import NATIVE_REALM, User
from apikeys.records import audit
from apikeys.services.writes import audited, delete_audited

log = logging.getLogger(__name__)

USER_FIELDS = {"username", "password", "password_hash", "roles", "full_name", "email", "metadata", "enabled"}
PASSWORD_FIELDS = {"password", "password_hash"}
MIN_PASSWORD_LENGTH = 6
PASSWORD_MAX_LENGTH = User._meta.get_field("password").max_length
# The columns' limits on what a put stores as given (Elasticsearch has none).
TEXT_LIMITS = {name: User._meta.get_field(name).max_length for name in ("full_name", "email")}
USER_NOT_FOUND = "user must exist in order to change password"


def _token(value: Any) -> str:
    """The JSON token Elasticsearch's parser names in its type errors."""
    if value is None:
        return "VALUE_NULL"
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if isinstance(value, (int, float)):
        return "VALUE_NUMBER"
    if isinstance(value, str):
        return "VALUE_STRING"
    return "START_ARRAY" if isinstance(value, list) else "START_OBJECT"


def _parse_error(reason: str, path: str) -> ParseFailed:
    return ParseFailed(reason, path=path, error_type="parse_exception")


def _wrong_type(name: str, expected: str, value: Any) -> ParseFailed:
    return _parse_error(f"expected field [{name}] to be of type {expected}, but found [{_token(value)}] instead", name)


@dataclass
class NewPassword:
    """A password or an accepted Elasticsearch hash of one, as a request gave it (checked, not yet hashed)."""

    password: str | None = None
    stored_hash: str | None = None

    def read(self, name: str, value: Any) -> None:
        """Read the body field `name` (`password` or `password_hash`); a second one of either is refused."""
        if not isinstance(value, str):
            raise _wrong_type(name, "string", value)
        if name == "password" and len(value) < MIN_PASSWORD_LENGTH:
            raise InvalidRequest(f"passwords must be at least [{MIN_PASSWORD_LENGTH}] characters long", path=name)
        stored = None
        if name == "password_hash":
            try:
                passwords.parse_hash(value)
            except passwords.UnsupportedHash as refused:
                raise ApiError(str(refused), path=name) from refused
            stored = passwords.stored_form(value)
            if len(stored) > PASSWORD_MAX_LENGTH:
                raise ApiError(passwords.NOT_A_HASH, path=name)
        if self.given:
            raise InvalidRequest("password_hash has already been set", path=name)
        self.password, self.stored_hash = (value, None) if stored is None else (None, stored)

    @property
    def given(self) -> bool:
        return self.password is not None or self.stored_hash is not None

    def hashed(self) -> str:
        return self.stored_hash or make_password(self.password)


@dataclass
class PutUser:
    """A put-user body as Elasticsearch reads it: every field it overwrites, with its default when not given."""

    secret: NewPassword = field(default_factory=NewPassword)
    roles: list[str] | None = None
    full_name: str | None = None
    email: str | None = None
    metadata: dict[str, Any] | None = None
    enabled: bool = True

    def problems(self) -> list[str]:
        found = [] if self.roles is not None else ["roles are missing"]
        if self.metadata and any(key.startswith("_") for key in self.metadata):
            found.append("metadata keys may not start with [_]")
        for name, limit in TEXT_LIMITS.items():
            if len(getattr(self, name) or "") > limit:
                found.append(f"[{name}] may hold at most {limit} characters")
        return found

    def apply(self, user: User) -> None:
        if self.secret.given:
            user.password = self.secret.hashed()
        # Names are kept as given: a role that does not exist yet grants nothing until it is created.
        user.role_names = list(dict.fromkeys(self.roles or []))
        user.is_superuser = user.is_staff = "superuser" in user.role_names
        user.full_name = self.full_name or ""
        user.email = self.email or ""
        user.metadata = self.metadata or {}
        user.is_active = self.enabled


def _roles(value: Any) -> list[str]:
    """`roles`: an array of names, or one string of comma-separated names."""
    if isinstance(value, str):
        return value.split(",")
    if value is None:
        raise _parse_error(
            "could not parse [roles] field. expected a string array but found null value instead", "roles"
        )
    if not isinstance(value, list):
        raise _parse_error(
            f"could not parse [roles] field. expected a string array but found [{_token(value)}] value instead", "roles"
        )
    for item in value:
        if not isinstance(item, str):
            raise _parse_error(
                "could not parse [roles] field. expected a string array but one of the value in the array is "
                f"[{_token(item)}]",
                "roles",
            )
    return value


# The plain fields' types as Elasticsearch names them in its refusals, as JSON gives them, and whether null is taken.
FIELD_TYPES: dict[str, tuple[str, type, bool]] = {
    "full_name": ("string", str, True),
    "email": ("string", str, True),
    "metadata": ("object", dict, False),
    "enabled": ("boolean", bool, False),
    "username": ("string", str, False),
}


def _typed(name: str, value: Any) -> Any:
    expected, kind, nullable = FIELD_TYPES[name]
    if not isinstance(value, kind) and not (nullable and value is None):
        raise _wrong_type(name, expected, value)
    return value


def read_put_user(username: str, body: dict[str, Any]) -> PutUser:
    """A put-user body, field by field in the order sent, refused at the first field Elasticsearch refuses."""
    request = PutUser()
    for name, value in body.items():
        if name in PASSWORD_FIELDS:
            request.secret.read(name, value)
        elif name == "roles":
            request.roles = _roles(value)
        elif name == "username":
            if _typed(name, value) != username:
                raise ApiError(f"[username] in source does not match the username provided [{username}]", path=name)
        elif name in FIELD_TYPES:
            setattr(request, name, _typed(name, value))
        else:
            raise _parse_error(f"failed to parse add user request. unexpected field [{name}]", name)
    return request


def _username_problem(username: str) -> str | None:
    limit = User._meta.get_field("username").max_length
    if (
        not username
        or len(username) > limit
        or username != username.strip()
        or username.startswith("_")
        or "/" in username
    ):
        return f"invalid username: 1 to {limit} characters, no leading underscore, no slash, no surrounding spaces"
    return None


def put_user(principal: Principal, username: str, body: dict[str, Any]) -> bool:
    """Create or overwrite a native user; True when it was created."""
    request = read_put_user(username, body)
    if problems := request.problems():
        raise ValidationFailed(*problems)
    principal.require(actions.USER_PUT)
    if problem := _username_problem(username):
        raise ValidationFailed(problem)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username, external_realm="").first()
        if user is not None and user.is_service_account:
            raise ApiError(f"user [{username}] is a service account and cannot be changed")
        if user is None and not request.secret.given:
            raise InvalidRequest("password must be specified unless you are updating an existing user")
        created = user is None
        user = user or User(username=username)
        request.apply(user)
        user.save()
        changed = sorted(name for name in body if name not in PASSWORD_FIELDS | {"username"})
        _audit(principal, username, created=created, fields=changed + (["password"] if request.secret.given else []))
    log.info("user %s username=%s by=%s", "created" if created else "updated", username, principal.user.username)
    return created


def delete_user(principal: Principal, username: str) -> bool:
    principal.require(actions.USER_DELETE)
    if username == principal.user.username:
        raise ApiError("users may not delete themselves")
    native = User.objects.filter(username=username, external_realm="", is_service_account=False)
    return delete_audited(native, principal, audit.Action.USER_DELETE, username)


def _native_user(username: str) -> User | None:
    """The native user `username`, locked for the change (a service account is no native user)."""
    return (
        User.objects.select_for_update().filter(username=username, external_realm="", is_service_account=False).first()
    )


def _audit(principal: Principal, username: str, **details: Any) -> None:
    audited(principal, audit.Action.USER_CHANGE, username, **details)


def change_password(principal: Principal, username: str | None, body: dict[str, Any]) -> None:
    """Set `username`'s password (the caller's own when None). The old password stops at once: it is checked
    against the stored hash on every request, and remembered successes are keyed by that hash."""
    username = principal.user.username if username is None else username
    secret = NewPassword()
    for name, value in body.items():
        if name not in PASSWORD_FIELDS:
            raise _parse_error(f"failed to parse change password request. unexpected field [{name}]", name)
        secret.read(name, value)
    if not secret.given:
        raise ValidationFailed("password is missing")
    principal.require_password_change(username)
    with transaction.atomic():
        user = _native_user(username)
        if user is None:
            raise InvalidRequest(USER_NOT_FOUND)
        user.password = secret.hashed()
        user.save(update_fields=["password"])
        _audit(principal, username, fields=["password"])
    log.info("password changed username=%s by=%s", username, principal.user.username)


def set_enabled(principal: Principal, username: str, enabled: bool) -> None:
    """Enable or disable a native user. A disabled user's keys and tokens are refused from its next request
    (`owner_disabled`), and its console sessions end; enabling brings them back."""
    principal.require(actions.USER_SET_ENABLED)
    # Elasticsearch's "same user": the caller's own native account, whether by password or by token; an API key
    # is a subject of its own, so a key may disable its owner (and with it, itself).
    if principal.api_key is None and principal.user.realm == NATIVE_REALM and username == principal.user.username:
        raise ApiError("users may not update the enabled status of their own account")
    with transaction.atomic():
        user = _native_user(username)
        if user is None:
            raise InvalidRequest(f"only existing users can be {'enabled' if enabled else 'disabled'}")
        user.is_active = enabled
        user.save(update_fields=["is_active"])
        _audit(principal, username, fields=["enabled"], enabled=enabled)
    log.info("user %s username=%s by=%s", "enabled" if enabled else "disabled", username, principal.user.username)


def get_users(principal: Principal, names: list[str] | None) -> dict[str, dict[str, Any]]:
    """The native users by username (every one when `names` is None), those of `names` that exist."""
    principal.require(actions.USER_GET)
    users = User.objects.filter(is_service_account=False, external_realm="").order_by("username")
    if names is not None:
        users = users.filter(username__in=names)
    return {user.username: user_fields(user, user_role_names(user)) for user in users}
