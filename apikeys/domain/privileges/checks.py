"""Privilege checks: does a list of role sets grant a cluster, index, application or run-as privilege, and
what a key can really do (its descriptors intersected with its owner snapshot)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from jsonschema import Draft202012Validator

from apikeys.domain.errors import InvalidRoleDescriptor
from apikeys.domain.privileges.applications import Definitions, has_application
from apikeys.domain.privileges.descriptors import NAMES, STRINGS, format_path
from apikeys.domain.privileges.names import (
    CLUSTER_IMPLIES,
    CLUSTER_PRIVILEGES,
    INDEX_IMPLIES,
    INDEX_PRIVILEGES,
    RoleSet,
)
from apikeys.domain.privileges.patterns import pattern_matches


class InvalidPrivilegeCheck(InvalidRoleDescriptor):
    """A `_has_privileges` request naming an unknown field or privilege: answered without a path."""

    def wire_fields(self) -> dict[str, Any]:
        return {}


def _implied(implies: Mapping[str, set[str]], granted: str) -> set[str]:
    seen = {granted}
    todo = [granted]
    while todo:
        for name in implies.get(todo.pop(), ()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def _privilege_covers(implies: Mapping[str, set[str]], granted: str, requested: str) -> bool:
    if granted == "all" or granted == requested:
        return True
    if ":" in granted:  # an action pattern such as "indices:data/read/*"
        return ":" in requested and pattern_matches(granted, requested)
    return requested in _implied(implies, granted)


def set_has_cluster(role_set: RoleSet, privilege: str) -> bool:
    return any(
        _privilege_covers(CLUSTER_IMPLIES, granted, privilege)
        for descriptor in role_set.values()
        for granted in descriptor.get("cluster", [])
    )


def set_has_index(role_set: RoleSet, index: str, privilege: str, allow_restricted: bool = False) -> bool:
    restricted = index.startswith(".security")
    for descriptor in role_set.values():
        for entry in descriptor.get("indices", []):
            if restricted and not entry.get("allow_restricted_indices", False) and not allow_restricted:
                continue
            if any(pattern_matches(p, index) for p in entry["names"]) and any(
                _privilege_covers(INDEX_IMPLIES, granted, privilege) for granted in entry["privileges"]
            ):
                return True
    return False


def set_can_run_as(role_set: RoleSet, username: str) -> bool:
    return any(pattern_matches(p, username) for d in role_set.values() for p in d.get("run_as", []))


def has_cluster(role_sets: list[RoleSet], privilege: str) -> bool:
    return bool(role_sets) and all(set_has_cluster(s, privilege) for s in role_sets)


def has_index(role_sets: list[RoleSet], index: str, privilege: str) -> bool:
    return bool(role_sets) and all(set_has_index(s, index, privilege) for s in role_sets)


def can_run_as(role_sets: list[RoleSet], username: str) -> bool:
    return bool(role_sets) and all(set_can_run_as(s, username) for s in role_sets)


def set_manages_applications(role_set: RoleSet, applications: Collection[str]) -> bool:
    """Whether one `global.application.manage` privilege of the set names every application a request about
    application privileges names (every application, when it names none, is `*` alone)."""
    for descriptor in role_set.values():
        names = (descriptor.get("global") or {}).get("application", {}).get("manage", {}).get("applications")
        if names is None:
            continue
        if not applications:
            granted = "*" in names
        else:
            granted = all(any(pattern_matches(p, a) for p in names) for a in applications)
        if granted:
            return True
    return False


def manages_applications(role_sets: list[RoleSet], applications: Collection[str]) -> bool:
    return bool(role_sets) and all(set_manages_applications(s, applications) for s in role_sets)


def key_role_sets(role_descriptors: RoleSet, limited_by: RoleSet) -> list[RoleSet]:
    """An API key's privileges: its descriptors intersected with the owner snapshot (alone when empty)."""
    return [role_descriptors, limited_by] if role_descriptors else [limited_by]


HAS_PRIVILEGES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "cluster": {"type": "array", "items": {"type": "string"}},
        "index": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["names", "privileges"],
                "additionalProperties": False,
                "properties": {
                    "names": NAMES,
                    "privileges": {"type": "array", "items": {"type": "string"}},
                    "allow_restricted_indices": {"type": "boolean"},
                },
            },
        },
        "application": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["application", "privileges", "resources"],
                "additionalProperties": False,
                "properties": {
                    "application": {"type": "string"},
                    "privileges": STRINGS,
                    "resources": STRINGS,
                },
            },
        },
    },
}


def has_privileges(
    role_sets: list[RoleSet], request: Mapping[str, Any], applications: Mapping[str, Definitions] | None = None
) -> dict[str, Any]:
    """Answer a `_has_privileges` request body for a principal holding `role_sets`; `applications` holds the
    privileges the requested applications define (application -> privilege name -> actions)."""
    applications = applications or {}
    errors = sorted(
        Draft202012Validator(HAS_PRIVILEGES_SCHEMA).iter_errors(request), key=lambda e: len(e.absolute_path)
    )
    if errors:
        where = format_path(errors[0].absolute_path) or "body"
        raise InvalidPrivilegeCheck(f"[{where}] {errors[0].message}", path=where)
    for name in request.get("cluster", []):
        if name not in CLUSTER_PRIVILEGES and ":" not in name:
            raise InvalidPrivilegeCheck(f"unknown cluster privilege [{name}]", path="cluster")
    cluster = {name: has_cluster(role_sets, name) for name in request.get("cluster", [])}
    index: dict[str, dict[str, bool]] = {}
    for entry in request.get("index", []):
        names = [entry["names"]] if isinstance(entry["names"], str) else entry["names"]
        for name in names:
            for privilege in entry["privileges"]:
                if privilege not in INDEX_PRIVILEGES and ":" not in privilege:
                    raise InvalidPrivilegeCheck(f"unknown index privilege [{privilege}]", path="index")
                index.setdefault(name, {})[privilege] = has_index(role_sets, name, privilege)
    application: dict[str, dict[str, dict[str, bool]]] = {}
    for entry in request.get("application", []):
        app = application.setdefault(entry["application"], {})
        for resource in entry["resources"]:
            for privilege in entry["privileges"]:
                app.setdefault(resource, {})[privilege] = has_application(
                    role_sets, entry["application"], resource, privilege, applications.get(entry["application"], {})
                )
    every = [*cluster.values()] + [v for r in index.values() for v in r.values()]
    every += [v for a in application.values() for r in a.values() for v in r.values()]
    return {"has_all_requested": all(every), "cluster": cluster, "index": index, "application": application}


def effective_cluster_privileges(role_sets: list[RoleSet]) -> list[str]:
    """The named cluster privileges every set grants: what a key can actually do at cluster level."""
    names = {name for s in role_sets for d in s.values() for name in d.get("cluster", [])}
    return sorted(name for name in names if has_cluster(role_sets, name))


def effective_index_privileges(mentioned: RoleSet, role_sets: list[RoleSet]) -> list[tuple[str, list[str]]]:
    """For each index name pattern `mentioned` names (a key's descriptors, or its owner's when it has none),
    the privileges the role sets really hold there."""
    out = []
    for descriptor in mentioned.values():
        for entry in descriptor.get("indices", []):
            for name in entry["names"]:
                held = [p for p in entry["privileges"] if has_index(role_sets, name, p)]
                out.append((name, held))
    return out
