"""Role descriptors: the one JSON Schema (shared by the API, the console's editors and /openapi.json) of a role
and of an API key's descriptor (which may also carry `restriction`), validation that names the failing path, and
the normalized form Elasticsearch answers with."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from apikeys.domain.errors import InvalidRoleDescriptor
from apikeys.domain.privileges import sections
from apikeys.domain.privileges.names import CLUSTER_PRIVILEGES, INDEX_PRIVILEGES, REMOTE_CLUSTER_PRIVILEGES, WORKFLOWS

STRINGS = {"type": "array", "items": {"type": "string"}}
NAMES = {
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
        "names": NAMES,
        "privileges": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        "field_security": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"grant": STRINGS, "except": STRINGS},
        },
        "query": {"type": ["string", "object"]},
        "allow_restricted_indices": {"type": "boolean"},
    },
}
_REMOTE_INDEX_ENTRY = {
    **_INDEX_ENTRY,
    "required": ["names", "privileges", "clusters"],
    "properties": {**_INDEX_ENTRY["properties"], "clusters": {**STRINGS, "minItems": 1}},
}


def _global_category(verb: str, field: str, item: dict[str, Any]) -> dict[str, Any]:
    held = {"type": "object", "required": [field], "additionalProperties": False}
    held["properties"] = {field: {"type": "array", "items": item}}
    return {"type": "object", "additionalProperties": False, "properties": {verb: held}}


_GLOBAL_ITEMS = {
    "applications": {"type": "string"},
    "indices": {
        "type": "object",
        "required": list(sections.MANAGE_ROLES_FIELDS),
        "additionalProperties": False,
        "properties": {field: {**STRINGS, "minItems": 1} for field in sections.MANAGE_ROLES_FIELDS},
    },
}
_GLOBAL = {
    "type": "object",
    "description": "Privileges scoped by what a request names: managing the privileges of these applications, "
    "writing these applications' user profile data, managing roles named by these index patterns.",
    "additionalProperties": False,
    "properties": {
        category: _global_category(verb, field, _GLOBAL_ITEMS[field])
        for category, (verb, field) in sections.GLOBAL_CATEGORIES.items()
    },
}
ROLE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Role",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "cluster": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "global": _GLOBAL,
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
                    "privileges": {**STRINGS, "minItems": 1},
                    "resources": {**STRINGS, "minItems": 1},
                },
            },
        },
        "run_as": STRINGS,
        "metadata": {"type": "object"},
        "transient_metadata": {"type": "object"},
        "description": {"type": "string"},
        "remote_indices": {"type": "array", "items": _REMOTE_INDEX_ENTRY},
        "remote_cluster": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["privileges", "clusters"],
                "additionalProperties": False,
                "properties": {
                    "privileges": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"enum": sorted(REMOTE_CLUSTER_PRIVILEGES)},
                    },
                    "clusters": {**STRINGS, "minItems": 1},
                },
            },
        },
    },
}
# An API key's descriptor may also be restricted to workflows (a role may not: `unexpected field`).
ROLE_DESCRIPTOR_SCHEMA: dict[str, Any] = {
    **ROLE_SCHEMA,
    "title": "Role descriptor",
    "properties": {
        **ROLE_SCHEMA["properties"],
        "restriction": {
            "type": "object",
            "description": "Only an API key's descriptor, and then its only one: the key may call nothing "
            "but these workflows' endpoints.",
            "additionalProperties": False,
            "properties": {"workflows": {"type": "array", "minItems": 1, "items": {"enum": sorted(WORKFLOWS)}}},
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


def format_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@cache
def _validator(whole: bool) -> Draft202012Validator:
    return Draft202012Validator(ROLE_DESCRIPTORS_SCHEMA if whole else ROLE_SCHEMA)


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
                f"failed to parse role [{role}]. unexpected field [{field}]",
                path=format_path(path + [field]),
                error_type="parse_exception",
            )
        return InvalidRoleDescriptor(
            f"failed to parse role [{role}]. unexpected field [{field}] in [{format_path(inner)}]",
            path=format_path(path + [field]),
            error_type="parse_exception",
        )
    where = format_path(path) or "role_descriptors"
    message = error.message
    if error.validator == "oneOf" and path and path[-1] == "names":
        message = "[names] must be a string or a non-empty array of strings"
    elif error.validator == "type":
        message = f"expected {error.validator_value} but found {_json_type(error.instance)}"
    prefix = f"failed to parse role [{role}]. " if role is not None else ""
    return InvalidRoleDescriptor(f"{prefix}[{where}] {message}", path=where)


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
                f"failed to parse role [{role}]. unknown cluster privilege [{name}]", path=f"{prefix}cluster[{i}]"
            )
    for field in ("indices", "index", "remote_indices"):
        for i, entry in enumerate(descriptor.get(field, [])):
            for j, name in enumerate(entry["privileges"]):
                if name not in INDEX_PRIVILEGES and ":" not in name:
                    raise InvalidRoleDescriptor(
                        f"failed to parse role [{role}]. unknown index privilege [{name}]",
                        path=f"{prefix}{field}[{i}].privileges[{j}]",
                    )
            names = entry["names"] if isinstance(entry["names"], list) else [entry["names"]]
            for j, pattern in enumerate(names):
                if pattern.startswith("/") and not _regex_ok(pattern):
                    raise InvalidRoleDescriptor(
                        f"failed to parse role [{role}]. invalid index name pattern [{pattern}]",
                        path=f"{prefix}{field}[{i}].names[{j}]",
                    )
    if "index" in descriptor and "indices" in descriptor:
        raise InvalidRoleDescriptor(
            f"failed to parse role [{role}]. use only one of [indices] and [index]", path=prefix + "index"
        )
    for key in descriptor.get("metadata", {}):
        if key.startswith("_"):
            raise InvalidRoleDescriptor(
                f"failed to parse role [{role}]. metadata keys may not start with [_]: [{key}]",
                path=f"{prefix}metadata.{key}",
            )


def _regex_ok(pattern: str) -> bool:
    if len(pattern) < 2 or not pattern.endswith("/"):
        return False
    try:
        re.compile(pattern[1:-1])
    except re.error:
        return False
    return True


def _check_sections(role: str, descriptor: Any, prefix: str, restriction: bool) -> None:
    """The sections Elasticsearch parses field by field, in the order given, before the schema's checks."""
    if not isinstance(descriptor, dict):
        return
    for field, value in descriptor.items():
        if field == "restriction" and not restriction:
            raise InvalidRoleDescriptor(
                f"failed to parse role [{role}]. unexpected field [{field}]",
                path=prefix + field,
                error_type="parse_exception",
            )
        if check := sections.CHECKS.get(field):
            check(role, value, prefix + field)


def validate_role_descriptors(value: Any) -> dict[str, dict[str, Any]]:
    """Validate an API key's `role_descriptors` object and return it normalized. Raise InvalidRoleDescriptor."""
    for role, descriptor in value.items() if isinstance(value, dict) else ():
        _check_sections(role, descriptor, f"{role}.", restriction=True)
    if error := _schema_error(value, whole=True, role_name=None):
        raise error
    for role, descriptor in value.items():
        _check_privilege_names(role, descriptor, f"{role}.")
    sections.check_restricted_together(value)
    return {role: normalize(descriptor) for role, descriptor in value.items()}


def validate_role_descriptor(name: str, value: Any) -> dict[str, Any]:
    """Validate one named role (the role API's body) and return it normalized."""
    _check_sections(name, value, "", restriction=False)
    if error := _schema_error(value, whole=False, role_name=name):
        raise error
    _check_privilege_names(name, value, "")
    return normalize(value)


def query_text(query: str | Mapping[str, Any]) -> str:
    """A document-level security query as Elasticsearch echoes it: JSON text (an object given is written compactly)."""
    return query if isinstance(query, str) else json.dumps(query, separators=(",", ":"))


def index_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An index entry (or a cross-cluster key's access entry, which has no privileges) as Elasticsearch echoes
    it: names as a list, `query` as JSON text, the flag present."""
    names = entry["names"]
    out: dict[str, Any] = {"names": [names] if isinstance(names, str) else list(names)}
    if "privileges" in entry:
        out["privileges"] = list(entry["privileges"])
    if "field_security" in entry:
        out["field_security"] = dict(entry["field_security"])
    if "query" in entry:
        out["query"] = query_text(entry["query"])
    out["allow_restricted_indices"] = bool(entry.get("allow_restricted_indices", False))
    return out


def normalize(descriptor: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical form Elasticsearch returns (`RoleDescriptor.toXContent`): `index` -> `indices`, lists
    filled in, defaults present; `global`, the remote sections, `restriction` and `description` only when held."""
    out: dict[str, Any] = {"cluster": list(descriptor.get("cluster", []))}
    if (held := sections.global_normal(descriptor.get("global"))) is not None:
        out["global"] = held
    out["indices"] = [index_entry(e) for e in descriptor.get("indices", descriptor.get("index", []))]
    out["applications"] = [dict(a) for a in descriptor.get("applications", [])]
    out["run_as"] = list(descriptor.get("run_as", []))
    out["metadata"] = dict(descriptor.get("metadata", {}))
    out["transient_metadata"] = {"enabled": True}
    if descriptor.get("remote_indices"):
        out["remote_indices"] = [
            {**index_entry(e), "clusters": list(e["clusters"])} for e in descriptor["remote_indices"]
        ]
    if descriptor.get("remote_cluster"):
        out["remote_cluster"] = sections.remote_cluster_normal(descriptor["remote_cluster"])
    if restriction := sections.restriction_normal(descriptor.get("restriction")):
        out["restriction"] = restriction
    if "description" in descriptor:
        out["description"] = descriptor["description"]
    return out


# The order of a descriptor's fields in Elasticsearch's answers (`RoleDescriptor.toXContent`), as `normalize`
# writes them. PostgreSQL's jsonb keeps an object's keys in its own order, so answers put them back in this one.
FIELD_ORDER = (
    "cluster",
    "global",
    "indices",
    "applications",
    "run_as",
    "metadata",
    "transient_metadata",
    "remote_indices",
    "remote_cluster",
    "restriction",
    "description",
)


def in_answer_order(descriptors: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stored descriptors (role name -> normal form) with each one's fields in Elasticsearch's order (any field
    that order does not know last, as stored)."""
    return {name: dict(sorted(d.items(), key=_answer_position)) for name, d in descriptors.items()}


def _answer_position(item: tuple[str, Any]) -> int:
    return FIELD_ORDER.index(item[0]) if item[0] in FIELD_ORDER else len(FIELD_ORDER)


def grants_nothing(descriptor: Mapping[str, Any]) -> bool:
    """True for a descriptor with no privileges and no restriction (what a derived API key must carry: ES's
    `RoleDescriptor.isEmpty`, but for metadata)."""
    fields = ("cluster", "indices", "index", "applications", "run_as", "remote_indices", "remote_cluster")
    return not (
        any(descriptor.get(field) for field in fields)
        or sections.global_normal(descriptor.get("global"))
        or sections.restriction_normal(descriptor.get("restriction"))
    )


# --- Privilege checks -------------------------------------------------------------------------------------


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
