"""The app's models, by what they hold: who (`identities`: users, roles, role mappings, application
privileges, tokens), API keys and their use (`keys`), and what happened (`audit`)."""

from apikeys.models.audit import AuditEvent, AuditOutbox, Heartbeat
from apikeys.models.identities import (
    NATIVE_REALM,
    SERVICE_ACCOUNT_REALM,
    SERVICE_ACCOUNT_USERNAME,
    ApplicationPrivilege,
    RealmUserManager,
    Role,
    RoleMapping,
    Token,
    User,
    realm_type,
)
from apikeys.models.keys import (
    MANAGED_CLAUSE,
    ApiKey,
    ApiKeyQuerySet,
    KeyType,
    KeyUsage,
    KeyUsageDay,
    OwnerKeyCount,
    is_managed,
)

__all__ = [
    "MANAGED_CLAUSE",
    "NATIVE_REALM",
    "SERVICE_ACCOUNT_REALM",
    "SERVICE_ACCOUNT_USERNAME",
    "ApiKey",
    "ApiKeyQuerySet",
    "ApplicationPrivilege",
    "AuditEvent",
    "AuditOutbox",
    "Heartbeat",
    "KeyType",
    "KeyUsage",
    "KeyUsageDay",
    "OwnerKeyCount",
    "RealmUserManager",
    "Role",
    "RoleMapping",
    "Token",
    "User",
    "is_managed",
    "realm_type",
]
