"""What a user holds, merged across its roles as Elasticsearch merges them into one role
(`CompositeRolesStore.buildRoleFromDescriptors`) and answers `GET /_security/user/_privileges` with
(`RBACEngine.buildUserPrivilegesResponseObject`, `RestGetUserPrivilegesAction`):

- index entries naming the same set of patterns (with the same `allow_restricted_indices`) become one: their
  privileges united, their field security groups collected (none once one entry sees every field), their
  queries collected (none once one entry has no query); entries on ordinary indices come first;
- a descriptor whose only index entry is `none` is an explicit denial and adds no entry;
- application entries on the same resources unite their privileges, then those with the same privileges
  unite their resources;
- `remote_indices` entries are listed one by one (only exact repeats go), `remote_cluster` groups likewise;
- names (cluster privileges, index patterns and privileges, run-as users, clusters) come sorted and distinct.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from apikeys.domain.privileges.names import RoleSet
from apikeys.domain.privileges.sections import GLOBAL_CATEGORIES, global_normal


def user_privileges(role_set: RoleSet) -> dict[str, Any]:
    descriptors = list(role_set.values())
    answer: dict[str, Any] = {
        "cluster": sorted({name for d in descriptors for name in d.get("cluster", [])}),
        "global": _configurable(descriptors),
        "indices": _merged_indices(descriptors),
        "applications": _merged_applications(descriptors),
        "run_as": sorted({name for d in descriptors for name in d.get("run_as", [])}),
    }
    remote_indices = _distinct(
        {**_index_answer([entry]), "clusters": sorted(set(entry["clusters"]))}
        for entry in _granted(descriptors, "remote_indices")
    )
    if remote_indices:
        answer["remote_indices"] = remote_indices
    remote_cluster = _distinct(group for d in descriptors for group in d.get("remote_cluster", []))
    if remote_cluster:
        answer["remote_cluster"] = remote_cluster
    return answer


def _distinct(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _configurable(descriptors: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each `global` privilege on its own, under its category."""
    held = []
    for descriptor in descriptors:
        normal = global_normal(descriptor.get("global")) or {}
        held += [{category: normal[category]} for category in GLOBAL_CATEGORIES if normal.get(category)]
    return _distinct(held)


def _granted(descriptors: list[Mapping[str, Any]], field: str) -> list[Mapping[str, Any]]:
    """The `field` entries that count: a descriptor holding a single `none` entry denies explicitly."""
    lists = [d.get(field, []) for d in descriptors]
    return [
        e for entries in lists if not (len(entries) == 1 and entries[0]["privileges"][:1] == ["none"]) for e in entries
    ]


def _merged_indices(descriptors: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[tuple[bool, frozenset[str]], list[Mapping[str, Any]]] = {}
    for entry in _granted(descriptors, "indices"):
        key = (bool(entry.get("allow_restricted_indices")), frozenset(entry["names"]))
        merged.setdefault(key, []).append(entry)
    return [_index_answer(merged[key]) for key in sorted(merged, key=lambda key: key[0])]


def _index_answer(entries: list[Mapping[str, Any]]) -> dict[str, Any]:
    """One index group from the entries merged into it, as the answer writes it."""
    out: dict[str, Any] = {
        "names": sorted({name for e in entries for name in e["names"]}),
        "privileges": sorted({name for e in entries for name in e["privileges"]}),
    }
    groups = [e.get("field_security") for e in entries]
    if not any(_sees_every_field(group) for group in groups):
        out["field_security"] = sorted(
            _distinct({k: list(v) for k, v in group.items() if v} for group in groups if group),
            key=lambda g: (g.get("grant", []), g.get("except", [])),
        )
    if all("query" in e for e in entries):
        out["query"] = list(dict.fromkeys(e["query"] for e in entries))
    out["allow_restricted_indices"] = bool(entries[0].get("allow_restricted_indices"))
    return out


def _sees_every_field(group: Mapping[str, list[str]] | None) -> bool:
    return group is None or ("grant" not in group or "*" in group["grant"]) and not group.get("except")


def _merged_applications(descriptors: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    by_resources: dict[tuple[str, frozenset[str]], dict[str, None]] = {}
    for descriptor in descriptors:
        for entry in descriptor.get("applications", []):
            key = (entry["application"], frozenset(entry["resources"]))
            by_resources.setdefault(key, {}).update(dict.fromkeys(entry["privileges"]))
    by_privileges: dict[tuple[str, frozenset[str]], set[str]] = {}
    for (application, resources), privileges in by_resources.items():
        by_privileges.setdefault((application, frozenset(privileges)), set()).update(resources)
    return [
        {"application": application, "privileges": sorted(privileges), "resources": sorted(resources)}
        for (application, privileges), resources in by_privileges.items()
    ]
