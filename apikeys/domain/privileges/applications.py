"""Application privileges: the named sets of actions an application defines (`myapp` `read` = `data:read/*`),
and whether a role set grants a requested privilege, or action, on a resource.

A role's `applications` entries name privileges (or action patterns, or `*`) of an application (a name or a
pattern) on resources (names or patterns). A request asks for a privilege by name or for an action; it is
granted when a matching entry names it (or `*`), or when the actions the role set's matching entries grant,
together, cover every action it stands for (a name stands for the actions its application defines for it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from apikeys.domain.privileges.names import RoleSet
from apikeys.domain.privileges.patterns import pattern_matches

# Per application: privilege name -> its actions.
Definitions = Mapping[str, Sequence[str]]


# What a privilege's name looks like; anything else (`data:read/*`, `*`) is an action or a pattern of actions.
PRIVILEGE_NAME = re.compile(r"[a-z][a-zA-Z0-9_.-]*")


def is_action(privilege: str) -> bool:
    return PRIVILEGE_NAME.fullmatch(privilege) is None


def _granted_actions(privileges: Iterable[str], definitions: Definitions) -> list[str]:
    granted: list[str] = []
    for privilege in privileges:
        if privilege == "*":
            return ["*"]
        granted += [privilege] if is_action(privilege) else definitions.get(privilege, [])
    return granted


def set_has_application(
    role_set: RoleSet, application: str, resource: str, privilege: str, definitions: Definitions
) -> bool:
    named = [
        name
        for descriptor in role_set.values()
        for entry in descriptor.get("applications", [])
        if pattern_matches(entry["application"], application)
        and any(pattern_matches(pattern, resource) for pattern in entry["resources"])
        for name in entry["privileges"]
    ]
    if privilege in named or "*" in named:
        return True
    requested = [privilege] if is_action(privilege) else list(definitions.get(privilege, []))
    granted = _granted_actions(named, definitions)
    # A requested pattern (`data:*`) is covered by a granted one that matches it as text.
    return bool(requested) and all(any(pattern_matches(g, action) for g in granted) for action in requested)


def has_application(
    role_sets: Sequence[RoleSet], application: str, resource: str, privilege: str, definitions: Definitions
) -> bool:
    return bool(role_sets) and all(
        set_has_application(role_set, application, resource, privilege, definitions) for role_set in role_sets
    )


def named_applications(role_sets: Sequence[RoleSet]) -> set[str]:
    """The applications (names or patterns) the role sets' entries name."""
    return {entry["application"] for s in role_sets for d in s.values() for entry in d.get("applications", [])}


def effective_applications(
    mentioned: RoleSet, role_sets: Sequence[RoleSet], definitions: Mapping[str, Definitions]
) -> list[tuple[str, list[str], list[str]]]:
    """For each `applications` entry of `mentioned` (a key's descriptors, or its owner's when it has none):
    (application, resources, the privileges it really holds there, on every one of them)."""
    out = []
    for descriptor in mentioned.values():
        for entry in descriptor.get("applications", []):
            application, resources = entry["application"], entry["resources"]
            held = [
                privilege
                for privilege in entry["privileges"]
                if all(
                    has_application(role_sets, application, resource, privilege, definitions.get(application, {}))
                    for resource in resources
                )
            ]
            out.append((application, list(resources), held))
    return out
