"""The role mapping endpoints: `PUT|POST|GET|DELETE /_security/role_mapping/{name}`, `GET /_security/role_mapping`."""

from __future__ import annotations

from typing import Any

from apikeys.api.wire import Call, endpoint
from apikeys.domain.errors import ValidationFailed
from apikeys.services import role_mappings

MAX_NAME_LENGTH = 507


def _names(value: str | None) -> list[str] | None:
    return [n for n in value.split(",") if n] if value else None


def _check_name(name: str) -> None:
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"role-mapping name must be at most {MAX_NAME_LENGTH} characters")


def get_role_mappings(call: Call, name: str | None = None) -> Any:
    found = role_mappings.get_role_mappings(call.principal, _names(name))
    return (found, 200) if found or name is None else ({}, 404)


def put_role_mapping(call: Call, name: str) -> dict:
    _check_name(name)
    return {"role_mapping": {"created": role_mappings.put_role_mapping(call.principal, name, call.body(required=True))}}


def delete_role_mapping(call: Call, name: str) -> Any:
    found = role_mappings.delete_role_mapping(call.principal, name)
    return {"found": found}, (200 if found else 404)


role_mappings_view = endpoint(GET=get_role_mappings)
role_mapping_view = endpoint(
    GET=get_role_mappings, PUT=put_role_mapping, POST=put_role_mapping, DELETE=delete_role_mapping
)
