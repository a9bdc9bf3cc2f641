"""Privileges, pure and request-free. A *role set* maps role names to normalized descriptors. A principal's
privileges are a list of role sets that must *all* grant a privilege: a user has one set (its roles); an API
key has two, its own descriptors and the `limited_by` snapshot of its owner's roles, which is how a key's
privileges never exceed its owner's. `names` (which privileges exist), `descriptors` (schema, validation,
normal form), `checks` (has_privileges and friends), `actions` (what each endpoint needs and who grants it),
`applications` (application privileges), `patterns` (the wildcards both match with), `cross_cluster` (a
cross-cluster key's access and the role descriptor built from it), `sections` (`global`, the remote sections and
`restriction`, parsed as Elasticsearch parses them), `user_privileges` (a user's privileges merged across roles)."""

from apikeys.domain.errors import InvalidRoleDescriptor
from apikeys.domain.privileges.applications import effective_applications, named_applications
from apikeys.domain.privileges.checks import (
    HAS_PRIVILEGES_SCHEMA,
    can_run_as,
    effective_cluster_privileges,
    effective_index_privileges,
    has_cluster,
    has_index,
    has_privileges,
    key_role_sets,
    manages_applications,
    set_has_cluster,
    set_has_index,
)
from apikeys.domain.privileges.descriptors import (
    RESERVED_ROLES,
    ROLE_DESCRIPTOR_SCHEMA,
    ROLE_DESCRIPTORS_SCHEMA,
    ROLE_SCHEMA,
    grants_nothing,
    in_answer_order,
    normalize,
    validate_role_descriptor,
    validate_role_descriptors,
)
from apikeys.domain.privileges.names import CLUSTER_PRIVILEGES, INDEX_PRIVILEGES, RoleSet, builtin_privileges
from apikeys.domain.privileges.user_privileges import user_privileges

__all__ = [
    "CLUSTER_PRIVILEGES",
    "HAS_PRIVILEGES_SCHEMA",
    "INDEX_PRIVILEGES",
    "RESERVED_ROLES",
    "ROLE_DESCRIPTORS_SCHEMA",
    "ROLE_DESCRIPTOR_SCHEMA",
    "ROLE_SCHEMA",
    "InvalidRoleDescriptor",
    "RoleSet",
    "builtin_privileges",
    "can_run_as",
    "effective_applications",
    "effective_cluster_privileges",
    "effective_index_privileges",
    "grants_nothing",
    "has_cluster",
    "has_index",
    "has_privileges",
    "in_answer_order",
    "key_role_sets",
    "manages_applications",
    "named_applications",
    "normalize",
    "set_has_cluster",
    "set_has_index",
    "user_privileges",
    "validate_role_descriptor",
    "validate_role_descriptors",
]
