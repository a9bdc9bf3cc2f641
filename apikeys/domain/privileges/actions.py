"""The cluster actions of this API, and which cluster privileges grant each: what a refusal names, in the order
Elasticsearch lists them (the privilege that implies fewest others first, `all` last)."""

from __future__ import annotations

from functools import cache

from apikeys.domain.privileges.names import CLUSTER_IMPLIES, CLUSTER_PRIVILEGES

API_KEY_CREATE = "cluster:admin/xpack/security/api_key/create"
API_KEY_GRANT = "cluster:admin/xpack/security/api_key/grant"
API_KEY_BULK_GRANT = "cluster:admin/xpack/security/api_key/grant/bulk"
API_KEY_CLONE = "cluster:admin/xpack/security/api_key/clone"
API_KEY_GET = "cluster:admin/xpack/security/api_key/get"
API_KEY_QUERY = "cluster:admin/xpack/security/api_key/query"
API_KEY_UPDATE = "cluster:admin/xpack/security/api_key/update"
API_KEY_INVALIDATE = "cluster:admin/xpack/security/api_key/invalidate"
API_KEY_ROLL = "cluster:admin/xpack/security/api_key/roll"  # ours: Elasticsearch has no roll
API_KEY_CACHE_CLEAR = "cluster:admin/xpack/security/api_key/cache/clear"
CROSS_CLUSTER_CREATE = "cluster:admin/xpack/security/cross_cluster/api_key/create"
CROSS_CLUSTER_UPDATE = "cluster:admin/xpack/security/cross_cluster/api_key/update"
CROSS_CLUSTER_ROLL = "cluster:admin/xpack/security/cross_cluster/api_key/roll"
ROLE_GET = "cluster:admin/xpack/security/role/get"
ROLE_PUT = "cluster:admin/xpack/security/role/put"
ROLE_DELETE = "cluster:admin/xpack/security/role/delete"
ROLE_MAPPING_GET = "cluster:admin/xpack/security/role_mapping/get"
ROLE_MAPPING_PUT = "cluster:admin/xpack/security/role_mapping/put"
ROLE_MAPPING_DELETE = "cluster:admin/xpack/security/role_mapping/delete"
USER_GET = "cluster:admin/xpack/security/user/get"
USER_PUT = "cluster:admin/xpack/security/user/put"
USER_DELETE = "cluster:admin/xpack/security/user/delete"
USER_CHANGE_PASSWORD = "cluster:admin/xpack/security/user/change_password"
USER_SET_ENABLED = "cluster:admin/xpack/security/user/set_enabled"
PRIVILEGE_GET = "cluster:admin/xpack/security/privilege/get"
PRIVILEGE_PUT = "cluster:admin/xpack/security/privilege/put"
PRIVILEGE_DELETE = "cluster:admin/xpack/security/privilege/delete"
PRIVILEGE_BUILTIN_GET = "cluster:admin/xpack/security/privilege/builtin/get"
TOKEN_CREATE = "cluster:admin/xpack/security/token/create"
TOKEN_INVALIDATE = "cluster:admin/xpack/security/token/invalidate"
METRICS_READ = "cluster:monitor/apikeys/metrics"  # ours: `GET /metrics`

# The least privileges that grant each action whatever the request names. `manage_own_api_key` also grants
# the key actions for a request about the caller's own keys: see `privileges_granting(..., own=True)`.
GRANTED_BY: dict[str, set[str]] = {
    API_KEY_CREATE: {"manage_own_api_key"},
    API_KEY_GRANT: {"grant_api_key"},
    API_KEY_BULK_GRANT: {"grant_api_key"},
    API_KEY_CLONE: {"clone_api_key"},
    API_KEY_GET: {"manage_api_key", "read_security"},
    API_KEY_QUERY: {"manage_api_key", "read_security"},
    API_KEY_UPDATE: {"manage_own_api_key"},
    API_KEY_INVALIDATE: {"manage_api_key"},
    API_KEY_ROLL: {"manage_own_api_key"},
    API_KEY_CACHE_CLEAR: {"manage_security"},
    CROSS_CLUSTER_CREATE: {"manage_security"},
    CROSS_CLUSTER_UPDATE: {"manage_security"},
    CROSS_CLUSTER_ROLL: {"manage_security"},
    ROLE_GET: {"read_security"},
    ROLE_PUT: {"manage_security"},
    ROLE_DELETE: {"manage_security"},
    ROLE_MAPPING_GET: {"read_security"},
    ROLE_MAPPING_PUT: {"manage_security"},
    ROLE_MAPPING_DELETE: {"manage_security"},
    USER_GET: {"read_security"},
    USER_PUT: {"manage_security"},
    USER_DELETE: {"manage_security"},
    USER_CHANGE_PASSWORD: {"manage_security"},
    USER_SET_ENABLED: {"manage_security"},
    PRIVILEGE_GET: {"read_security"},
    PRIVILEGE_PUT: {"manage_security"},
    PRIVILEGE_DELETE: {"manage_security"},
    PRIVILEGE_BUILTIN_GET: {"read_security"},
    TOKEN_CREATE: {"manage_token"},
    TOKEN_INVALIDATE: {"manage_token"},
    METRICS_READ: {"monitor"},
}
OWN_KEY_ACTIONS = {API_KEY_GET, API_KEY_QUERY, API_KEY_INVALIDATE}


@cache
def implied_by(privilege: str) -> frozenset[str]:
    """`privilege` and everything it implies (`all`: every privilege)."""
    if privilege == "all":
        return CLUSTER_PRIVILEGES
    seen, todo = {privilege}, [privilege]
    while todo:
        for name in CLUSTER_IMPLIES.get(todo.pop(), ()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return frozenset(seen)


def privileges_granting(action: str, own: bool = False) -> list[str]:
    """Every cluster privilege that grants `action` (`own`: for a request about the caller's own keys)."""
    least = set(GRANTED_BY.get(action, ()))
    if own and action in OWN_KEY_ACTIONS:
        least.add("manage_own_api_key")
    granting = [name for name in CLUSTER_PRIVILEGES if implied_by(name) & least]
    return sorted(granting, key=lambda name: (len(implied_by(name)), name))
