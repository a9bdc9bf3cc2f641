"""The paths that list privileges in the OpenAPI document: every privilege name Elasticsearch knows
(`GET /_security/privilege/_builtin`, from the privileges package's one list of names) and what the caller
holds (`GET /_security/user/_privileges`, the shape `privileges.user_privileges` answers with)."""

from __future__ import annotations

from typing import Any

from apikeys.api.openapi.parts import STRINGS, Schema, answer, closed, operation, ref
from apikeys.api.refusals import privileges_of_a_key_with_descriptors
from apikeys.domain.privileges import CLUSTER_PRIVILEGES, INDEX_PRIVILEGES, ROLE_SCHEMA
from apikeys.domain.privileges.names import REMOTE_CLUSTER_PRIVILEGES


def names(listed: frozenset[str], what: str) -> Schema:
    return {"type": "array", "items": {"enum": sorted(listed)}, "description": f"Every {what}, sorted."}


FIELD_GROUP = closed({"grant": STRINGS, "except": STRINGS})
HELD_INDICES = {
    "names": {**STRINGS, "description": "Sorted."},
    "privileges": {**STRINGS, "description": "Sorted: every privilege the merged entries grant."},
    "field_security": {
        "type": "array",
        "items": FIELD_GROUP,
        "description": "The field groups of the merged entries; absent when one of them sees every field.",
    },
    "query": {
        **STRINGS,
        "description": "The document queries of the merged entries (JSON text); absent when one has none.",
    },
    "allow_restricted_indices": {"type": "boolean"},
}
REQUIRED_INDICES = ("names", "privileges", "allow_restricted_indices")
# A role's `global` categories, as the descriptor schema has them.
GLOBAL_CATEGORIES: dict[str, Schema] = ROLE_SCHEMA["properties"]["global"]["properties"]

SCHEMAS: dict[str, Schema] = {
    "BuiltinPrivileges": closed(
        {
            "cluster": names(CLUSTER_PRIVILEGES, "cluster privilege"),
            "index": names(INDEX_PRIVILEGES, "index privilege"),
            "remote_cluster": names(REMOTE_CLUSTER_PRIVILEGES, "privilege a role may hold on remote clusters"),
        },
        ("cluster", "index", "remote_cluster"),
    ),
    "UserPrivileges": closed(
        {
            "cluster": {**STRINGS, "description": "Sorted, every role's together."},
            "global": {
                "type": "array",
                "description": "Each `global` privilege on its own, under its category.",
                "items": {"oneOf": [closed({name: held}, (name,)) for name, held in GLOBAL_CATEGORIES.items()]},
            },
            "indices": {
                "type": "array",
                "description": "Entries naming the same patterns (and restricted-indices flag) merged into one.",
                "items": closed(HELD_INDICES, REQUIRED_INDICES),
            },
            "applications": {
                "type": "array",
                "items": closed(
                    {"application": {"type": "string"}, "privileges": STRINGS, "resources": STRINGS},
                    ("application", "privileges", "resources"),
                ),
            },
            "run_as": {**STRINGS, "description": "Sorted."},
            "remote_indices": {
                "type": "array",
                "description": "Only when some role has any; listed entry by entry.",
                "items": closed(
                    {**HELD_INDICES, "clusters": {**STRINGS, "description": "Sorted."}},
                    (*REQUIRED_INDICES, "clusters"),
                ),
            },
            "remote_cluster": {
                "type": "array",
                "description": "Only when some role has any.",
                "items": closed(
                    {"privileges": names(REMOTE_CLUSTER_PRIVILEGES, "remote cluster privilege"), "clusters": STRINGS},
                    ("privileges", "clusters"),
                ),
            },
        },
        ("cluster", "global", "indices", "applications", "run_as"),
    ),
}


def paths() -> dict[str, Any]:
    refused = privileges_of_a_key_with_descriptors()
    return {
        "/_security/privilege/_builtin": {
            "get": operation(
                "getBuiltinPrivileges",
                "Roles",
                "Every cluster, index and remote cluster privilege name (needs `read_security`)",
                answer("The privilege names, each list sorted.", ref("BuiltinPrivileges")),
            )
        },
        "/_security/user/_privileges": {
            "get": operation(
                "getUserPrivileges",
                "Authentication",
                "What the caller holds, its roles merged (every caller may ask)",
                answer("The caller's privileges; for an API key, its owner snapshot's.", ref("UserPrivileges")),
                forbidden=False,
                bad_request=answer(
                    f"A malformed request, or an API key with role descriptors of its own (`{refused.error_type}`).",
                    ref("ErrorResponse"),
                ),
            )
        },
    }
