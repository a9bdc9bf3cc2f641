"""Role descriptors: the one JSON Schema (shared by the API, the console's editors and /openapi.json),
validation that names the failing path, and the normalized form Elasticsearch answers with."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from apikeys.domain.errors import InvalidRoleDescriptor
from apikeys.domain.privileges.names import CLUSTER_PRIVILEGES, INDEX_PRIVILEGES

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
    "required": ["clusters", "names", "privileges"],
    "properties": {**_INDEX_ENTRY["properties"], "clusters": {**STRINGS, "minItems": 1}},
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
                    "privileges": {**STRINGS, "minItems": 1},
                    "resources": {**STRINGS, "minItems": 1},
                },
            },
        },
        "run_as": STRINGS,
        "metadata": {"type": "object"},
        "transient_metadata": {"type": "object"},
        "description": {"type": "string"},
        "restriction": {
            "type": "object",
            "additionalProperties": False,
            "required": ["workflows"],
            "properties": {"workflows": {**STRINGS, "minItems": 1}},
        },
        "remote_indices": {"type": "array", "items": _REMOTE_INDEX_ENTRY},
        "remote_cluster": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["clusters", "privileges"],
                "additionalProperties": False,
                "properties": {
                    "clusters": {**STRINGS, "minItems": 1},
                    "privileges": {**STRINGS, "minItems": 1},
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


def format_path(parts: Iterable[Any]) -> str:
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
    """The canonical form Elasticsearch returns: `index` -> `indices`, lists filled in, defaults present."""
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
