"""The sections of a role descriptor that Elasticsearch parses field by field rather than by one schema:
`global` (configurable cluster privileges), `remote_indices`, `remote_cluster` and `restriction`. Each is
refused in Elasticsearch's words (`RoleDescriptor`, `ConfigurableClusterPrivileges`, `RemoteClusterPermissions`,
`WorkflowResolver`) with the failing path, and echoed in the normal form Elasticsearch answers with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apikeys.domain.errors import InvalidRoleDescriptor
from apikeys.domain.privileges.names import INDEX_PRIVILEGES, REMOTE_CLUSTER_PRIVILEGES, WORKFLOWS

# Each `global` category, the one privilege it holds and the field naming what that privilege is for, in the
# order Elasticsearch writes them (`ConfigurableClusterPrivilege.Category`).
GLOBAL_CATEGORIES = {
    "application": ("manage", "applications"),
    "profile": ("write", "applications"),
    "role": ("manage", "indices"),
}
MANAGE_ROLES_FIELDS = ("names", "privileges")
REMOTE_INDEX_FIELDS = ("names", "privileges", "field_security", "query", "allow_restricted_indices", "clusters")
FAILURE_STORE_PRIVILEGES = frozenset({"read_failure_store", "manage_failure_store"})
PARSE = "parse_exception"


def token(value: Any) -> str:
    """The JSON token Elasticsearch's parser names in its messages for `value`."""
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if isinstance(value, (int, float)):
        return "VALUE_NUMBER"
    kinds = {dict: "START_OBJECT", list: "START_ARRAY", str: "VALUE_STRING"}
    return kinds.get(type(value), "VALUE_NULL")


def _string_array(value: Any, field: str, prefix: str, path: str) -> list[str]:
    """`XContentUtils.readStringArray`: an array of strings, else a `parse_exception`."""
    if value is None:
        problem = "expected a string array but found null value instead"
    elif not isinstance(value, list):
        problem = f"expected a string array but found [{token(value)}] value instead"
    else:
        odd = [item for item in value if not isinstance(item, str)]
        if not odd:
            return value
        problem = f"expected a string array but one of the value in the array is [{token(odd[0])}]"
    raise InvalidRoleDescriptor(f"{prefix}could not parse [{field}] field. {problem}", path=path, error_type=PARSE)


# --- global ------------------------------------------------------------------------------------------------


def _privilege_error(problem: str, path: str) -> InvalidRoleDescriptor:
    return InvalidRoleDescriptor(
        f"failed to parse privilege. {problem}", path=path, error_type="x_content_parse_exception"
    )


def _expect(value: Any, expected: str, path: str) -> None:
    if token(value) != expected:
        raise _privilege_error(f"expected [{expected}] but found [{token(value)}] instead", path)


def _expect_name(found: str, expected: tuple[str, ...], path: str) -> None:
    if found not in expected:
        what = "field name" if len(expected) == 1 else "one of"
        raise _privilege_error(f"expected {what} [{','.join(expected)}] but found [{found}] instead", path)


def _only_field(value: Any, field: str, path: str) -> Any:
    """An object holding exactly `field` (`{"applications": [...]}`), as the privilege parsers read one."""
    _expect(value, "START_OBJECT", path)
    names = list(value)
    if not names:
        raise _privilege_error("expected [FIELD_NAME] but found [END_OBJECT] instead", path)
    _expect_name(names[0], (field,), f"{path}.{names[0]}")
    if len(names) > 1:
        raise _privilege_error("expected [END_OBJECT] but found [FIELD_NAME] instead", f"{path}.{names[1]}")
    return value[field]


def check_global(_role: str, value: Any, path: str) -> None:
    """`ConfigurableClusterPrivileges.parse`, whose messages name no role."""
    _expect(value, "START_OBJECT", path)
    for category, privileges in value.items():
        where = f"{path}.{category}"
        _expect_name(category, tuple(GLOBAL_CATEGORIES), where)
        _expect(privileges, "START_OBJECT", where)
        verb, field = GLOBAL_CATEGORIES[category]
        for name, body in privileges.items():
            _expect_name(name, (verb,), f"{where}.{name}")
            inner = f"{where}.{name}.{field}"
            listed = _only_field(body, field, f"{where}.{name}")
            _expect(listed, "START_ARRAY", inner)
            if field == "applications":
                _string_array(listed, field, "", inner)
            else:
                _check_manage_roles(listed, inner)


def _check_manage_roles(entries: list, path: str) -> None:
    """`global.role.manage.indices`: which roles (by name pattern and index privileges) may be managed. Each
    entry is read as two fields, `names` and `privileges`, in either order."""
    for i, entry in enumerate(entries):
        where = f"{path}[{i}]"
        _expect(entry, "START_OBJECT", where)
        fields = list(entry)
        for field in fields[:2]:
            if field not in MANAGE_ROLES_FIELDS:
                expected = ", ".join(MANAGE_ROLES_FIELDS)
                raise _privilege_error(f"expected one of [{expected}] but found [{field}] instead", f"{where}.{field}")
            _expect(entry[field], "START_ARRAY", f"{where}.{field}")
            _string_array(entry[field], field, "", f"{where}.{field}")
        if len(fields) < 2:
            raise _privilege_error("expected [FIELD_NAME] but found [END_OBJECT] instead", where)
        if len(fields) > 2:
            raise _privilege_error("expected [END_OBJECT] but found [FIELD_NAME] instead", f"{where}.{fields[-1]}")
        if not entry["names"]:
            raise InvalidRoleDescriptor(
                "Indices privileges must refer to at least one index name or index name pattern", path=f"{where}.names"
            )
        if not entry["privileges"]:
            raise InvalidRoleDescriptor(
                "Indices privileges must define at least one privilege", path=f"{where}.privileges"
            )
        for j, name in enumerate(entry["privileges"]):
            if name not in INDEX_PRIVILEGES and ":" not in name:
                raise InvalidRoleDescriptor(f"unknown index privilege [{name}]", path=f"{where}.privileges[{j}]")


def global_normal(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """`global` as Elasticsearch echoes it: every category present once any holds a privilege, else nothing."""
    value = value or {}
    held = {}
    for category, (verb, field) in GLOBAL_CATEGORIES.items():
        privilege = (value.get(category) or {}).get(verb)
        if privilege is not None:
            listed = privilege[field]
            if field == "applications":
                held[category] = {verb: {field: list(dict.fromkeys(listed))}}
            else:
                groups = [{"names": list(e["names"]), "privileges": list(e["privileges"])} for e in listed]
                held[category] = {verb: {field: groups}}
    if not held:
        return None
    return {category: held.get(category, {}) for category in GLOBAL_CATEGORIES}


# --- remote_indices and remote_cluster ---------------------------------------------------------------------


def check_remote_indices(role: str, value: Any, path: str) -> None:
    prefix = f"failed to parse remote indices privileges for role [{role}]. "
    if not isinstance(value, list):
        raise InvalidRoleDescriptor(
            f"{prefix}expected field [remote_indices] value to be an array, but found [{token(value)}] instead",
            path=path,
            error_type=PARSE,
        )
    for i, entry in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(entry, dict):
            continue  # the schema names what an entry must be
        unknown = [f for f in entry if f not in REMOTE_INDEX_FIELDS]
        if unknown:
            raise InvalidRoleDescriptor(
                f"{prefix}unexpected field [{unknown[0]}]", path=f"{where}.{unknown[0]}", error_type=PARSE
            )
        for field in ("names", "privileges", "clusters"):
            if field not in entry:
                raise InvalidRoleDescriptor(f"{prefix}missing required [{field}] field", path=where, error_type=PARSE)
        clusters = _string_array(entry["clusters"], "clusters", prefix, f"{where}.clusters")
        if not clusters:
            raise InvalidRoleDescriptor(
                "the [remote_indices] sub-field [clusters] must refer to at least one cluster alias or cluster alias "
                "pattern",
                path=f"{where}.clusters",
            )
        if "" in clusters:
            raise _invalid_request("remote index cluster alias cannot be an empty string", f"{where}.clusters")
        if isinstance(entry["privileges"], list) and FAILURE_STORE_PRIVILEGES & set(entry["privileges"]):
            raise _invalid_request(
                "remote index privileges cannot contain privileges that grant access to the failure store",
                f"{where}.privileges",
            )


def check_remote_cluster(role: str, value: Any, path: str) -> None:
    prefix = f"failed to parse remote_cluster for role [{role}]. "
    if not isinstance(value, list):
        raise InvalidRoleDescriptor(
            f"{prefix}expected field [remote_cluster] value to be an array", path=path, error_type=PARSE
        )
    for i, entry in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(entry, dict):
            raise InvalidRoleDescriptor(
                f"{prefix}expected field [remote_cluster] value to be an array of objects", path=where, error_type=PARSE
            )
        for field, listed in entry.items():
            if field not in ("privileges", "clusters"):
                raise InvalidRoleDescriptor(
                    f"{prefix}unexpected field [{field}]", path=f"{where}.{field}", error_type=PARSE
                )
            _string_array(listed, field, prefix, f"{where}.{field}")
        privileges, clusters = entry.get("privileges"), entry.get("clusters")
        if privileges is not None and any(p not in REMOTE_CLUSTER_PRIVILEGES for p in privileges):
            allowed = ", ".join(sorted(REMOTE_CLUSTER_PRIVILEGES))
            raise InvalidRoleDescriptor(
                f"{prefix}[{allowed}] are the only values allowed for [privileges] within [remote_cluster]. "
                f"Found [{', '.join(privileges)}]",
                path=f"{where}.privileges",
                error_type=PARSE,
            )
        if privileges is not None and clusters is None:
            raise InvalidRoleDescriptor(
                f"{prefix}[clusters] must be defined when [privileges] are defined", path=where, error_type=PARSE
            )
        if clusters is not None and privileges is None:
            raise InvalidRoleDescriptor(
                f"{prefix}[privileges] must be defined when [clusters] are defined", path=where, error_type=PARSE
            )
        _check_remote_cluster_group(privileges or [], clusters or [], where)


def _check_remote_cluster_group(privileges: list[str], clusters: list[str], path: str) -> None:
    """`RemoteClusterPermissionGroup`'s own rules, once both fields are read."""
    if not privileges or not clusters:
        raise InvalidRoleDescriptor("remote cluster groups must not be null or empty", path=path)
    if not all(p.strip() for p in privileges):
        raise InvalidRoleDescriptor(
            "remote_cluster privileges must contain valid non-empty, non-null values", path=f"{path}.privileges"
        )
    if not all(c.strip() for c in clusters):
        raise InvalidRoleDescriptor(
            "remote_cluster clusters aliases must contain valid non-empty, non-null values", path=f"{path}.clusters"
        )


def remote_cluster_normal(entries: list[Mapping[str, Any]]) -> list[dict[str, list[str]]]:
    return [{"privileges": list(e["privileges"]), "clusters": list(e["clusters"])} for e in entries]


# --- restriction -------------------------------------------------------------------------------------------


def check_restriction(role: str, value: Any, path: str) -> None:
    prefix = f"failed to parse restriction for role [{role}]. "
    if not isinstance(value, dict):
        raise InvalidRoleDescriptor(
            f"{prefix}expected an object but found [{token(value)}] instead", path=path, error_type=PARSE
        )
    for field in value:
        if field != "workflows":
            raise InvalidRoleDescriptor(f"{prefix}unexpected field [{field}]", path=f"{path}.{field}", error_type=PARSE)
    if "workflows" not in value:
        return
    workflows = _string_array(value["workflows"], "workflows", prefix, f"{path}.workflows")
    if not workflows:
        raise InvalidRoleDescriptor(
            f"{prefix}[workflows] cannot be an empty array", path=f"{path}.workflows", error_type=PARSE
        )
    for i, name in enumerate(workflows):
        if name not in WORKFLOWS:
            raise _invalid_request(
                f"Unknown workflow [{name}]. A workflow must be one of the predefined workflow names "
                f"[{','.join(sorted(WORKFLOWS))}].",
                f"{path}.workflows[{i}]",
            )


def restriction_normal(value: Mapping[str, Any] | None) -> dict[str, list[str]] | None:
    workflows = (value or {}).get("workflows")
    return {"workflows": list(workflows)} if workflows else None


def check_restricted_together(descriptors: Mapping[str, Mapping[str, Any]]) -> None:
    """An API key may be restricted only through a single descriptor (`ApiKeyService`)."""
    restricted = sum(1 for d in descriptors.values() if restriction_normal(d.get("restriction")))
    if restricted > 1:
        raise InvalidRoleDescriptor(
            "more than one role descriptor with restriction is not supported", path="role_descriptors"
        )
    if restricted and restricted != len(descriptors):
        raise InvalidRoleDescriptor(
            "combining role descriptors with and without restriction is not supported", path="role_descriptors"
        )


def _invalid_request(problem: str, path: str) -> InvalidRoleDescriptor:
    """A problem the request's validation finds once it is parsed: `Validation Failed: 1: ...;`."""
    return InvalidRoleDescriptor(
        f"Validation Failed: 1: {problem};",
        path=path,
        problems=[problem],
        error_type="action_request_validation_exception",
    )


# How each section is checked, by field; `restriction` only where it is allowed (an API key's descriptors).
CHECKS = {
    "global": check_global,
    "remote_indices": check_remote_indices,
    "remote_cluster": check_remote_cluster,
    "restriction": check_restriction,
}


def restricted_to_workflows(descriptors: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether an API key with these descriptors may call only its workflows' endpoints: then, as none of this
    server's endpoints belongs to a workflow, Elasticsearch would refuse every request it makes here."""
    return any(restriction_normal(d.get("restriction")) for d in descriptors.values())
