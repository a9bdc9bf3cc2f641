"""A cross-cluster key's `access`: what a remote cluster may search and replicate. One JSON Schema (the API, the
console's Access editor and /openapi.json use it), validation naming the failing path, and the single role
descriptor Elasticsearch builds from it (`CrossClusterApiKeyRoleDescriptorBuilder`). And its certificate
identity: a Java regular expression the remote cluster's certificate must match (Elasticsearch's
`CertificateIdentity`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from apikeys.domain import java_regex
from apikeys.domain.errors import ApiError, InvalidRoleDescriptor, unsupported_value
from apikeys.domain.privileges.descriptors import NAMES, STRINGS, format_path, index_entry, normalize

ROLE_NAME = "cross_cluster"
# The cluster privileges of search and of replication, in Elasticsearch's order; search has held `monitor_enrich`
# too since 8.14 (a remote cluster's ES|QL ENRICH needs it). Keys made before keep what they were made with.
SEARCH_CLUSTER = ("cross_cluster_search", "monitor_enrich")
REPLICATION_CLUSTER = ("cross_cluster_replication",)
SEARCH_PRIVILEGES = ("read", "read_cross_cluster", "view_index_metadata")
REPLICATION_PRIVILEGES = ("cross_cluster_replication", "cross_cluster_replication_internal")
# What the console's Access editor starts with: search and replicate everything but restricted indices.
DEFAULT_ACCESS = {"search": [{"names": ["*"]}], "replication": [{"names": ["*"]}]}

_ENTRY = {
    "type": "object",
    "required": ["names"],
    "additionalProperties": False,
    "properties": {
        "names": NAMES,
        "query": {"type": ["string", "object"]},
        "field_security": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"grant": STRINGS, "except": STRINGS},
        },
        "allow_restricted_indices": {"type": "boolean"},
    },
}
ACCESS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Cross-cluster access",
    "description": "What a remote cluster may do with the key: `search` these indices (optionally with a "
    "document `query` and `field_security`) and/or `replication` (cross-cluster replication) of these.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "search": {"type": "array", "items": _ENTRY},
        "replication": {
            "type": "array",
            "items": {
                **_ENTRY,
                "properties": {"names": NAMES, "allow_restricted_indices": {"type": "boolean"}},
            },
        },
    },
}


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(ACCESS_SCHEMA)


def _schema_problem(access: Any) -> InvalidRoleDescriptor | None:
    errors = sorted(
        _validator().iter_errors(access), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path)))
    )
    if not errors:
        return None
    error = errors[0]
    path = ["access", *error.absolute_path]
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        field = extra[0] if extra else "?"
        if path[1:2] == ["replication"] and field in ("query", "field_security"):
            return InvalidRoleDescriptor(
                "replication does not support document or field level security", path=format_path([*path, field])
            )
        return InvalidRoleDescriptor(
            f"unexpected field [{field}] in [{format_path(path)}]",
            path=format_path([*path, field]),
            error_type="x_content_parse_exception",
        )
    if error.validator == "required":
        missing = next(name for name in error.validator_value if name not in error.instance)
        return InvalidRoleDescriptor(f"[{format_path(path)}] requires [{missing}]", path=format_path([*path, missing]))
    message = error.message
    if error.validator == "oneOf" and path[-1] == "names":
        message = "[names] must be a string or a non-empty array of strings"
    return InvalidRoleDescriptor(f"[{format_path(path)}] {message}", path=format_path(path))


def validate_access(access: Any) -> dict[str, list[dict[str, Any]]]:
    """`access` checked whole and normalized (each entry as Elasticsearch echoes it); raise InvalidRoleDescriptor."""
    if access is None:
        raise InvalidRoleDescriptor(
            "[access] is required", path="access", error_type="action_request_validation_exception"
        )
    if problem := _schema_problem(access):
        raise problem
    for part in ("search", "replication"):
        for i, entry in enumerate(access.get(part, [])):
            query = entry.get("query")
            if isinstance(query, str):
                try:
                    parsed = json.loads(query)
                except ValueError:
                    parsed = None
                if not isinstance(parsed, dict):
                    raise InvalidRoleDescriptor(
                        "[query] must be a JSON object, or a string holding one", path=f"access.{part}[{i}].query"
                    )
    normalized = {
        part: [index_entry(e) for e in access[part]] for part in ("search", "replication") if access.get(part)
    }
    if not normalized:
        raise InvalidRoleDescriptor("must specify non-empty access for either [search] or [replication]", path="access")
    return normalized


def role_descriptors(access: Mapping[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The one role descriptor, `cross_cluster`, that a normalized `access` stands for."""
    search, replication = access.get("search", []), access.get("replication", [])
    cluster = [*(SEARCH_CLUSTER if search else ()), *(REPLICATION_CLUSTER if replication else ())]
    indices = [{**e, "privileges": list(SEARCH_PRIVILEGES)} for e in search]
    indices += [{**e, "privileges": list(REPLICATION_PRIVILEGES)} for e in replication]
    return {ROLE_NAME: normalize({"cluster": cluster, "indices": indices})}


def validate_certificate_identity(value: Any, parser: str) -> str | None:
    """A certificate identity as given (None: none), checked as Elasticsearch does: a string that compiles as a
    Java regular expression, nothing more (no length limit, and an empty pattern is one)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise unsupported_value(parser, "certificate_identity", value)
    if not java_regex.compiles(value):
        raise ApiError(
            f"Invalid certificate_identity format: [{value}]. Must be a valid regex.", path="certificate_identity"
        )
    return value
