"""Writes to role mappings (the role mapping endpoints and the console's page). Each is one transaction,
audited; a body is validated whole before anything is written."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from apikeys.access.principals import Principal
from apikeys.domain.privileges import actions
from apikeys.domain.role_mappings import mapping_to_dict, validate_mapping
from apikeys.models import RoleMapping
from apikeys.records import audit
from apikeys.services.writes import audited, delete_audited

log = logging.getLogger(__name__)


def put_role_mapping(principal: Principal, name: str, body: Any) -> bool:
    """Create or replace a role mapping; True when it was created."""
    principal.require(actions.ROLE_MAPPING_PUT)
    stored = validate_mapping(name, body)
    with transaction.atomic():
        _, created = RoleMapping.objects.update_or_create(name=name, defaults=stored)
        audited(principal, audit.Action.ROLE_MAPPING_CHANGE, name, created=created)
    log.info("role mapping %s name=%s by=%s", "created" if created else "updated", name, principal.user.audit_name)
    return created


def delete_role_mapping(principal: Principal, name: str) -> bool:
    principal.require(actions.ROLE_MAPPING_DELETE)
    return delete_audited(RoleMapping.objects.filter(name=name), principal, audit.Action.ROLE_MAPPING_DELETE, name)


def get_role_mappings(principal: Principal, names: list[str] | None) -> dict[str, dict]:
    """Mappings by name (every one when `names` is None), as the get API answers them."""
    principal.require(actions.ROLE_MAPPING_GET)
    found = RoleMapping.objects.all() if names is None else RoleMapping.objects.filter(name__in=names)
    return {m.name: mapping_to_dict(m.as_stored()) for m in found}
