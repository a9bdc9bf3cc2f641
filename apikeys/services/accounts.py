"""Writes to roles (the role endpoints), and the roles as the API shows them. Each write is one transaction."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from apikeys.access.principals import Principal
from apikeys.domain.errors import ApiError, ValidationFailed
from apikeys.domain.privileges import RESERVED_ROLES, actions, in_answer_order, validate_role_descriptor
from apikeys.models import Role
from apikeys.records import audit
from apikeys.services.writes import audited, delete_audited

log = logging.getLogger(__name__)


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
        audited(principal, audit.Action.ROLE_CHANGE, name, created=created)
    log.info("role %s name=%s by=%s", "created" if created else "updated", name, principal.user.audit_name)
    return created


def delete_role(principal: Principal, name: str) -> bool:
    principal.require(actions.ROLE_DELETE)
    _check_role_name(name)
    return delete_audited(Role.objects.filter(name=name), principal, audit.Action.ROLE_DELETE, name)


def role_descriptors(names: list[str] | None) -> dict[str, dict]:
    """Roles by name (every role when `names` is None), the built-in ones included."""
    roles = {**RESERVED_ROLES, **in_answer_order({r.name: r.descriptor for r in Role.objects.all()})}
    if names is None:
        return dict(sorted(roles.items()))
    return {n: roles[n] for n in names if n in roles}
