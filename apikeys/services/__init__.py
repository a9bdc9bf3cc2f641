"""Every write: keys (create, grant, clone, update, invalidate, purge), roles and users. Each is one transaction.

Services check who may do what (a `Principal`), validate input completely before writing anything, and
raise `ApiError`s in Elasticsearch's words. Views and the JSON API only parse and render.
"""

from apikeys.services import app_privileges, lifetime, tokens
from apikeys.services.clone import CLONE_FIELDS, CLONED_FROM, clone_api_key, clone_own_api_key
from apikeys.services.create import (
    BULK_GRANT_FIELDS,
    GRANT_FIELDS,
    CreatedKey,
    bulk_grant_api_keys,
    create_api_key,
    create_cross_cluster_api_key,
    create_managed_api_key,
    grant_api_key,
)
from apikeys.services.invalidate import (
    INVALIDATE_FIELDS,
    Invalidation,
    invalidate_api_keys,
    invalidate_keys,
    purge_api_keys,
    purge_if_due,
)
from apikeys.services.leaks import report_leaks
from apikeys.services.reads import KeySelectors, check_limited_by, get_api_keys, key_usage, readable_keys
from apikeys.services.roll import roll_api_key
from apikeys.services.update import BulkUpdate, bulk_update_api_keys, update_api_key
from apikeys.services.validation import (
    CREATE_FIELDS,
    CROSS_CLUSTER_FIELDS,
    CROSS_CLUSTER_UPDATE_FIELDS,
    MAX_NAME_LENGTH,
    UPDATE_FIELDS,
    split_metadata,
    validate_descriptors,
    validate_metadata,
    validate_name,
)

__all__ = [
    "app_privileges",
    "lifetime",
    "tokens",
    "bulk_grant_api_keys",
    "BULK_GRANT_FIELDS",
    "CLONE_FIELDS",
    "CLONED_FROM",
    "CREATE_FIELDS",
    "CROSS_CLUSTER_FIELDS",
    "CROSS_CLUSTER_UPDATE_FIELDS",
    "GRANT_FIELDS",
    "INVALIDATE_FIELDS",
    "MAX_NAME_LENGTH",
    "UPDATE_FIELDS",
    "CreatedKey",
    "KeySelectors",
    "BulkUpdate",
    "bulk_update_api_keys",
    "check_limited_by",
    "clone_api_key",
    "clone_own_api_key",
    "create_api_key",
    "create_cross_cluster_api_key",
    "create_managed_api_key",
    "get_api_keys",
    "grant_api_key",
    "invalidate_api_keys",
    "Invalidation",
    "invalidate_keys",
    "key_usage",
    "purge_api_keys",
    "purge_if_due",
    "readable_keys",
    "report_leaks",
    "roll_api_key",
    "split_metadata",
    "update_api_key",
    "validate_descriptors",
    "validate_metadata",
    "validate_name",
]
