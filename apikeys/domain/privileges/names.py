"""Elasticsearch's privilege names: which cluster, index and remote cluster privileges exist (the one list that
validation, privilege checks and `GET /_security/privilege/_builtin` read), what each implies, and the workflows
a key's descriptor may be restricted to. The names are Elasticsearch 9.5's (`ClusterPrivilegeResolver`,
`IndexPrivilege`, `RemoteClusterPermissions`, `WorkflowResolver`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# A role set maps role names to normalized descriptors.
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
    "manage_api_key": {"manage_own_api_key", "grant_api_key", "clone_api_key"},
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
        "manage_data_frame_transforms",
        "manage_connector",
        "manage_reindex",
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
        "post_behavioral_analytics_event",
    },
    "monitor": {
        "monitor_ml",
        "monitor_transform",
        "monitor_data_frame_transforms",
        "monitor_connector",
        "monitor_stats",
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
        "transport_client",
    },
    "manage_ml": {"monitor_ml"},
    "manage_transform": {"monitor_transform"},
    "manage_data_frame_transforms": {"monitor_data_frame_transforms"},
    "manage_connector": {"monitor_connector"},
    "manage_reindex": {"monitor_reindex"},
    "manage_behavioral_analytics": {"post_behavioral_analytics_event"},
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
# Two privileges that grant nothing (deprecated in 8.16) stand alone.
CLUSTER_PRIVILEGES = frozenset(
    {"all", "none", "delegate_pki", "write_connector_secrets", "manage_own_api_key"}
    | {"read_fleet_secrets", "write_fleet_secrets"}
    | {"manage_data_stream_global_retention", "monitor_data_stream_global_retention"}
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
    "manage_view": {"create_view", "delete_view", "read_view_metadata"},
}
INDEX_PRIVILEGES = frozenset(
    {"all", "none", "delete_index", "manage_follow_index", "manage_leader_index", "cross_cluster_replication"}
    | {"cross_cluster_replication_internal", "create_index", "manage_failure_store", "read_failure_store"}
    | set(INDEX_IMPLIES)
    | set().union(*INDEX_IMPLIES.values())
)

# What a role's `remote_cluster` entries may grant on a remote cluster.
REMOTE_CLUSTER_PRIVILEGES = frozenset({"monitor_enrich", "monitor_stats"})

# The workflows an API key's descriptor may be restricted to (`restriction.workflows`). A restricted key may
# call only its workflows' endpoints (querying a search application); this server has none of them.
WORKFLOWS = frozenset({"search_application_query"})


def builtin_privileges() -> dict[str, list[str]]:
    """Every privilege name, sorted as `GET /_security/privilege/_builtin` lists them (Java's `TreeSet`)."""
    return {
        "cluster": sorted(CLUSTER_PRIVILEGES),
        "index": sorted(INDEX_PRIVILEGES),
        "remote_cluster": sorted(REMOTE_CLUSTER_PRIVILEGES),
    }
