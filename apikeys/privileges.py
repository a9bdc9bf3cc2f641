"""Role descriptors: the one JSON Schema, normalization, privilege hierarchies and privilege checks.

Pure and request-free. A *role set* is a mapping of role name -> normalized descriptor. A principal's
privileges are a list of role sets that must *all* grant a privilege: a user has one set (its roles); an
API key has two, its own descriptors and the `limited_by` snapshot of its owner's roles, which is how the
key's privileges never exceed its owner's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

RoleSet = Mapping[str, Mapping[str, Any]]

# What each cluster privilege implies besides itself ("all" implies everything).
CLUSTER_IMPLIES: dict[str, set[str]] = {
    "manage_security": {
        "manage_api_key",
        "manage_own_api_key",
        "grant_api_key",
        "read_security",
        "manage_service_account",
        "manage_token",
        "manage_user_profile",
        "manage_saml",
        "manage_oidc",
        "manage_behavioral_analytics",
    },
    "manage_api_key": {"manage_own_api_key", "grant_api_key"},
    # Implication is transitive: `manage` holds everything `monitor` does through "monitor".
    "manage": {
        "monitor",
        "manage_ilm",
        "manage_slm",
        "manage_index_templates",
        "manage_ingest_pipelines",
        "manage_pipeline",
        "manage_enrich",
        "manage_ml",
        "manage_transform",
        "manage_rollup",
        "manage_watcher",
        "manage_ccr",
        "manage_autoscaling",
        "manage_data_stream_global_retention",
        "manage_inference",
        "manage_logstash_pipelines",
        "manage_search_application",
        "manage_search_query_rules",
        "manage_search_synonyms",
        "manage_esql",
        "cancel_task",
        "create_snapshot",
        "cross_cluster_replication",
        "cross_cluster_search",
        "read_connector_secrets",
    },
    "monitor": {
        "monitor_ml",
        "monitor_transform",
        "monitor_rollup",
        "monitor_watcher",
        "monitor_text_structure",
        "monitor_inference",
        "monitor_snapshot",
        "monitor_enrich",
        "monitor_esql",
        "read_ilm",
        "read_slm",
        "read_ccr",
        "read_pipeline",
    },
    "manage_ml": {"monitor_ml"},
    "manage_transform": {"monitor_transform"},
    "manage_rollup": {"monitor_rollup"},
    "manage_watcher": {"monitor_watcher"},
    "manage_ilm": {"read_ilm"},
    "manage_slm": {"read_slm"},
    "manage_ccr": {"read_ccr"},
    "manage_pipeline": {"read_pipeline"},
    "manage_ingest_pipelines": {"read_pipeline"},
    "manage_inference": {"monitor_inference"},
    "manage_enrich": {"monitor_enrich"},
    "manage_esql": {"monitor_esql"},
}
CLUSTER_PRIVILEGES = frozenset(
    {"all", "none", "delegate_pki", "write_connector_secrets", "write_fleet_secrets", "manage_own_api_key"}
    | set(CLUSTER_IMPLIES)
    | set().union(*CLUSTER_IMPLIES.values())
)

INDEX_IMPLIES: dict[str, set[str]] = {
    "manage": {"monitor", "view_index_metadata", "manage_ilm", "manage_data_stream_lifecycle", "maintenance"},
    "write": {"index", "create", "create_doc", "delete", "auto_configure"},
    "index": {"create", "create_doc"},
    "create": {"create_doc"},
    "create_index": {"auto_configure"},
    "read": {"read_cross_cluster"},
}
INDEX_PRIVILEGES = frozenset(
    {"all", "none", "delete_index", "manage_follow_index", "manage_leader_index", "cross_cluster_replication"}
    | {"cross_cluster_replication_internal", "create_index"}
    | set(INDEX_IMPLIES)
    | set().union(*INDEX_IMPLIES.values())
)

_STRINGS = {"type": "array", "items": {"type": "string"}}
_NAMES = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "minItems": 1, "items": {"type": "string"}},
    ]
}
_INDEX_ENTRY = {
    "type": "object",
    "required": ["names", "privileges"],
    "additionalProperties": False,
    "properties": {
        "names": _NAMES,
        "privileges": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        "field_security": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"grant": _STRINGS, "except": _STRINGS},
        },
        "query": {"type": ["string", "object"]},
        "allow_restricted_indices": {"type": "boolean"},
    },
}
_REMOTE_INDEX_ENTRY = {
    **_INDEX_ENTRY,
    "required": ["clusters", "names", "privileges"],
    "properties": {**_INDEX_ENTRY["properties"], "clusters": {**_STRINGS, "minItems": 1}},
}
ROLE_DESCRIPTOR_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Role descriptor",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "cluster": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "indices": {"type": "array", "items": _INDEX_ENTRY},
        "index": {"type": "array", "items": _INDEX_ENTRY},
        "applications": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["application", "privileges", "resources"],
                "additionalProperties": False,
                "properties": {
                    "application": {"type": "string", "minLength": 1},
                    "privileges": {**_STRINGS, "minItems": 1},
                    "resources": {**_STRINGS, "minItems": 1},
                },
            },
        },
        "run_as": _STRINGS,
        "metadata": {"type": "object"},
        "transient_metadata": {"type": "object"},
        "description": {"type": "string"},
        "restriction": {
            "type": "object",
            "additionalProperties": False,
            "required": ["workflows"],
            "properties": {"workflows": {**_STRINGS, "minItems": 1}},
        },
        "remote_indices": {"type": "array", "items": _REMOTE_INDEX_ENTRY},
        "remote_cluster": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["clusters", "privileges"],
                "additionalProperties": False,
                "properties": {
                    "clusters": {**_STRINGS, "minItems": 1},
                    "privileges": {**_STRINGS, "minItems": 1},
                },
            },
        },
    },
}
ROLE_DESCRIPTORS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Role descriptors (role name -> role descriptor)",
    "type": "object",
    "propertyNames": {"minLength": 1, "maxLength": 507},
    "additionalProperties": ROLE_DESCRIPTOR_SCHEMA,
}


class InvalidRoleDescriptor(ValueError):
    """A role descriptor broke the schema or named an unknown privilege. `path` points at the culprit."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.path = path


def _format_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@cache
def _validator(whole: bool) -> Draft202012Validator:
    return Draft202012Validator(ROLE_DESCRIPTORS_SCHEMA if whole else ROLE_DESCRIPTOR_SCHEMA)


def _schema_error(instance: Any, whole: bool, role_name: str | None) -> InvalidRoleDescriptor | None:
    errors = sorted(
        _validator(whole).iter_errors(instance),
        key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))),
    )
    if not errors:
        return None
    error = errors[0]
    path = list(error.absolute_path)
    role = role_name if not whole else (str(path[0]) if path else None)
    inner = path if not whole else path[1:]
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        field = extra[0] if extra else "?"
        if role is not None and not inner:
            return InvalidRoleDescriptor(
                f"failed to parse role [{role}]. unexpected field [{field}]", _format_path(path + [field])
            )
        return InvalidRoleDescriptor(
            f"failed to parse role [{role}]. unexpected field [{field}] in [{_format_path(inner)}]",
            _format_path(path + [field]),
        )
    where = _format_path(path) or "role_descriptors"
    message = error.message
    if error.validator == "oneOf" and path and path[-1] == "names":
        message = "[names] must be a string or a non-empty array of strings"
    elif error.validator == "type":
        message = f"expected {error.validator_value} but found {_json_type(error.instance)}"
    prefix = f"failed to parse role [{role}]. " if role is not None else ""
    return InvalidRoleDescriptor(f"{prefix}[{where}] {message}", where)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string"}.get(type(value), type(value).__name__)


def _check_privilege_names(role: str, descriptor: Mapping[str, Any], prefix: str) -> None:
    for i, name in enumerate(descriptor.get("cluster", [])):
        if name not in CLUSTER_PRIVILEGES and ":" not in name:
            raise InvalidRoleDescriptor(
                f"failed to parse role [{role}]. unknown cluster privilege [{name}]", f"{prefix}cluster[{i}]"
            )
    for field in ("indices", "index", "remote_indices"):
        for i, entry in enumerate(descriptor.get(field, [])):
            for j, name in enumerate(entry["privileges"]):
                if name not in INDEX_PRIVILEGES and ":" not in name:
                    raise InvalidRoleDescriptor(
                        f"failed to parse role [{role}]. unknown index privilege [{name}]",
                        f"{prefix}{field}[{i}].privileges[{j}]",
                    )
            names = entry["names"] if isinstance(entry["names"], list) else [entry["names"]]
            for j, pattern in enumerate(names):
                if pattern.startswith("/") and not _regex_ok(pattern):
                    raise InvalidRoleDescriptor(
                        f"failed to parse role [{role}]. invalid index name pattern [{pattern}]",
                        f"{prefix}{field}[{i}].names[{j}]",
                    )
    if "index" in descriptor and "indices" in descriptor:
        raise InvalidRoleDescriptor(
            f"failed to parse role [{role}]. use only one of [indices] and [index]", prefix + "index"
        )
    for key in descriptor.get("metadata", {}):
        if key.startswith("_"):
            raise InvalidRoleDescriptor(
                f"failed to parse role [{role}]. metadata keys may not start with [_]: [{key}]",
                f"{prefix}metadata.{key}",
            )


def _regex_ok(pattern: str) -> bool:
    if len(pattern) < 2 or not pattern.endswith("/"):
        return False
    try:
        re.compile(pattern[1:-1])
    except re.error:
        return False
    return True


def validate_role_descriptors(value: Any) -> dict[str, dict[str, Any]]:
    """Validate a `role_descriptors` object and return it normalized. Raise InvalidRoleDescriptor."""
    if error := _schema_error(value, whole=True, role_name=None):
        raise error
    for role, descriptor in value.items():
        _check_privilege_names(role, descriptor, f"{role}.")
    return {role: normalize(descriptor) for role, descriptor in value.items()}


def validate_role_descriptor(name: str, value: Any) -> dict[str, Any]:
    """Validate one named descriptor (the role API's body) and return it normalized."""
    if error := _schema_error(value, whole=False, role_name=name):
        raise error
    _check_privilege_names(name, value, "")
    return normalize(value)


def normalize(descriptor: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical form Elasticsearch returns: `index` -> `indices`, lists filled in, defaults present."""

    def index_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
        names = entry["names"]
        out: dict[str, Any] = {"names": [names] if isinstance(names, str) else list(names)}
        out["privileges"] = list(entry["privileges"])
        if "field_security" in entry:
            out["field_security"] = dict(entry["field_security"])
        if "query" in entry:
            out["query"] = entry["query"]
        out["allow_restricted_indices"] = bool(entry.get("allow_restricted_indices", False))
        return out

    out: dict[str, Any] = {
        "cluster": list(descriptor.get("cluster", [])),
        "indices": [index_entry(e) for e in descriptor.get("indices", descriptor.get("index", []))],
        "applications": [dict(a) for a in descriptor.get("applications", [])],
        "run_as": list(descriptor.get("run_as", [])),
        "metadata": dict(descriptor.get("metadata", {})),
        "transient_metadata": {"enabled": True},
    }
    if "description" in descriptor:
        out["description"] = descriptor["description"]
    if "restriction" in descriptor:
        out["restriction"] = dict(descriptor["restriction"])
    if descriptor.get("remote_indices"):
        out["remote_indices"] = [
            {"clusters": list(e["clusters"]), **index_entry(e)} for e in descriptor["remote_indices"]
        ]
    if descriptor.get("remote_cluster"):
        out["remote_cluster"] = [dict(e) for e in descriptor["remote_cluster"]]
    return out


def grants_nothing(descriptor: Mapping[str, Any]) -> bool:
    """True for a descriptor with no privileges at all (what a derived API key must carry)."""
    return not any(
        descriptor.get(field)
        for field in (
            "cluster",
            "indices",
            "index",
            "applications",
            "run_as",
            "remote_indices",
            "remote_cluster",
        )
    )


# --- Privilege checks -------------------------------------------------------------------------------------


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
        return ":" in requested and _pattern_matches(granted, requested)
    return requested in _implied(implies, granted)


@cache
def _compile_pattern(pattern: str) -> re.Pattern[str]:
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        return re.compile(pattern[1:-1])
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _pattern_matches(pattern: str, name: str) -> bool:
    """Elasticsearch name patterns: `*` and `?` wildcards, or a Lucene-style `/regex/`."""
    return _compile_pattern(pattern).fullmatch(name) is not None


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
            if any(_pattern_matches(p, index) for p in entry["names"]) and any(
                _privilege_covers(INDEX_IMPLIES, granted, privilege) for granted in entry["privileges"]
            ):
                return True
    return False


def set_has_application(role_set: RoleSet, application: str, resource: str, privilege: str) -> bool:
    for descriptor in role_set.values():
        for entry in descriptor.get("applications", []):
            if (
                _pattern_matches(entry["application"], application)
                and any(_pattern_matches(r, resource) for r in entry["resources"])
                and any(p in ("*", privilege) or _pattern_matches(p, privilege) for p in entry["privileges"])
            ):
                return True
    return False


def set_can_run_as(role_set: RoleSet, username: str) -> bool:
    return any(_pattern_matches(p, username) for d in role_set.values() for p in d.get("run_as", []))


def has_cluster(role_sets: list[RoleSet], privilege: str) -> bool:
    return bool(role_sets) and all(set_has_cluster(s, privilege) for s in role_sets)


def has_index(role_sets: list[RoleSet], index: str, privilege: str) -> bool:
    return bool(role_sets) and all(set_has_index(s, index, privilege) for s in role_sets)


def can_run_as(role_sets: list[RoleSet], username: str) -> bool:
    return bool(role_sets) and all(set_can_run_as(s, username) for s in role_sets)


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
                    "names": _NAMES,
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
                    "privileges": _STRINGS,
                    "resources": _STRINGS,
                },
            },
        },
    },
}


def has_privileges(role_sets: list[RoleSet], request: Mapping[str, Any]) -> dict[str, Any]:
    """Answer a `_has_privileges` request body for a principal holding `role_sets`."""
    errors = sorted(
        Draft202012Validator(HAS_PRIVILEGES_SCHEMA).iter_errors(request), key=lambda e: len(e.absolute_path)
    )
    if errors:
        where = _format_path(errors[0].absolute_path) or "body"
        raise InvalidRoleDescriptor(f"[{where}] {errors[0].message}", where)
    for name in request.get("cluster", []):
        if name not in CLUSTER_PRIVILEGES and ":" not in name:
            raise InvalidRoleDescriptor(f"unknown cluster privilege [{name}]", "cluster")
    cluster = {name: has_cluster(role_sets, name) for name in request.get("cluster", [])}
    index: dict[str, dict[str, bool]] = {}
    for entry in request.get("index", []):
        names = [entry["names"]] if isinstance(entry["names"], str) else entry["names"]
        for name in names:
            for privilege in entry["privileges"]:
                if privilege not in INDEX_PRIVILEGES and ":" not in privilege:
                    raise InvalidRoleDescriptor(f"unknown index privilege [{privilege}]", "index")
                index.setdefault(name, {})[privilege] = has_index(role_sets, name, privilege)
    application: dict[str, dict[str, dict[str, bool]]] = {}
    for entry in request.get("application", []):
        app = application.setdefault(entry["application"], {})
        for resource in entry["resources"]:
            for privilege in entry["privileges"]:
                app.setdefault(resource, {})[privilege] = bool(role_sets) and all(
                    set_has_application(s, entry["application"], resource, privilege) for s in role_sets
                )
    every = [*cluster.values()] + [v for r in index.values() for v in r.values()]
    every += [v for a in application.values() for r in a.values() for v in r.values()]
    return {"has_all_requested": all(every), "cluster": cluster, "index": index, "application": application}


def effective_cluster_privileges(role_sets: list[RoleSet]) -> list[str]:
    """The named cluster privileges every set grants: what a key can actually do at cluster level."""
    names = {name for s in role_sets for d in s.values() for name in d.get("cluster", [])}
    return sorted(name for name in names if has_cluster(role_sets, name))


def effective_index_privileges(role_descriptors: RoleSet, limited_by: RoleSet) -> list[tuple[str, list[str]]]:
    """For each index name pattern a key's descriptors mention (its owner's, when it has none), the
    privileges it really holds there: those its owner snapshot grants too."""
    sets = key_role_sets(role_descriptors, limited_by)
    out = []
    for descriptor in (role_descriptors or limited_by).values():
        for entry in descriptor.get("indices", []):
            for name in entry["names"]:
                held = [p for p in entry["privileges"] if has_index(sets, name, p)]
                out.append((name, held))
    return out


SUPERUSER_DESCRIPTOR = normalize(
    {
        "cluster": ["all"],
        "indices": [{"names": ["*"], "privileges": ["all"], "allow_restricted_indices": True}],
        "applications": [{"application": "*", "privileges": ["*"], "resources": ["*"]}],
        "run_as": ["*"],
        "metadata": {"_reserved": True},
    }
)
RESERVED_ROLES = {"superuser": SUPERUSER_DESCRIPTOR}
