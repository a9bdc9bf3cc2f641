"""Who may do what with a key: one rule per action, each with its faces side by side.

- a refusal for one key (`delete_refusal(principal, key)`): a `Refusal` code, never text, or None when allowed;
- where a list or a bulk action needs it, the same rule as a queryset (`deletable_keys(principal)`): exactly the
  keys for which the refusal is None (a test holds the two together);
- the words: the API says a refusal in Elasticsearch's (`api/refusals.py`), the console in its own
  (`console/presenters.py`); neither decides anything.

Actions: see a key (and its usage: whoever may see a key may see how it is used), delete (invalidate) it,
update it, roll it, clone it from the console, and read the audit log. Elasticsearch's selector rule for the
API (a `manage_own_api_key` caller must name only its own keys) is a rule of the request, not of a key:
`addressed_keys`.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.db import models
from django.db.models import QuerySet

from apikeys.access.principals import Principal
from apikeys.domain import durations
from apikeys.domain.key_rules import KeyStatus
from apikeys.models import ApiKey, KeyType


class Refusal(models.TextChoices):
    """Why an action on a key is refused, in the order the rules check. Each surface words it its own way."""

    API_KEY = "api_key", "the caller is an API key (only the owner user may update or roll a key)"
    NO_PRIVILEGE = "no_privilege", "the caller holds no privilege for the action"
    NOT_OWNER = "not_owner", "the key belongs to another user"
    CROSS_CLUSTER = "cross_cluster", "a cross-cluster key: only manage_security may delete it"
    INVALIDATED = "invalidated", "the key is invalidated"
    EXPIRED = "expired", "the key has expired"
    OTHER_TYPE = "other_type", "the key is of the other type (REST or cross-cluster)"
    MANAGED = "managed", "the key is managed by the system"
    ROLLED = "rolled", "the key has been rolled already (only a roll asks)"
    NOT_FOUND = "not_found", "no such key among those the caller may address"


class KeyRow(NamedTuple):
    """What the rules read of a key, for callers that read many keys as rows, not models (an invalidation of
    10,000 keys): an `ApiKey` has the same attributes."""

    id: str
    owner_id: int
    type: str
    managed: bool
    rolled_to: str | None
    invalidated: bool
    expiration: datetime | None


KeyFacts = ApiKey | KeyRow


class Refused(Exception):
    """An action refused for one key (`key_id`, "" when the refusal is the caller's whatever the key). `kind` is
    the type of key the request was about, `verb` what it asked (update, roll or clone), `successor` the key that
    replaced a rolled one."""

    def __init__(
        self, refusal: Refusal, key_id: str = "", kind: str = KeyType.REST, verb: str = "update", successor: str = ""
    ):
        super().__init__(refusal.value)
        self.refusal = refusal
        self.key_id = key_id
        self.kind = kind
        self.verb = verb
        self.successor = successor


def _owns(principal: Principal, key: KeyFacts) -> bool:
    return key.owner_id == principal.user.pk


def addressed_keys(principal: Principal, may_address_all: bool, own: bool, action: str) -> QuerySet[ApiKey]:
    """The keys a request that selects keys (get, invalidate) may reach, by Elasticsearch's rule: every key when
    the caller's privilege covers all keys (`may_address_all`), its own for `manage_own_api_key` when the request
    names only its own (`own`: `Principal.names_own_keys`); else the action is denied."""
    if may_address_all:
        return ApiKey.objects.all()
    if principal.can_manage_own_keys and own:
        return principal.own_keys()
    raise principal.denied(action, own=own)


def _status(key: KeyFacts, now: datetime | None) -> KeyStatus:
    return KeyStatus.of(key, now or durations.now())


# --- see (and see usage) -------------------------------------------------------------------------------------


def see_refusal(principal: Principal, key: KeyFacts) -> Refusal | None:
    """Readers of all keys (`read_security`, `manage_api_key` and above) see every key; `manage_own_api_key`
    its own."""
    if principal.can_read_all_keys:
        return None
    if not principal.can_manage_own_keys:
        return Refusal.NO_PRIVILEGE
    return None if _owns(principal, key) else Refusal.NOT_OWNER


def visible_keys(principal: Principal) -> QuerySet[ApiKey] | None:
    """`see_refusal` as a queryset; None when the caller may see no key at all."""
    if principal.can_read_all_keys:
        return ApiKey.objects.all()
    if principal.can_manage_own_keys:
        return ApiKey.objects.filter(owner=principal.user)
    return None


# --- delete (invalidate) -------------------------------------------------------------------------------------


def may_delete_any(principal: Principal) -> bool:
    return principal.can_manage_all_keys or principal.can_manage_own_keys


def delete_refusal(principal: Principal, key: KeyFacts, now: datetime | None = None) -> Refusal | None:
    """`manage_api_key` deletes every key, `manage_own_api_key` its own; a cross-cluster key needs
    `manage_security` as well (Elasticsearch's rule); a deleted key cannot be deleted again."""
    if not may_delete_any(principal):
        return Refusal.NO_PRIVILEGE
    if not principal.can_manage_all_keys and not _owns(principal, key):
        return Refusal.NOT_OWNER
    if key.type == KeyType.CROSS_CLUSTER and not principal.has_cluster("manage_security"):
        return Refusal.CROSS_CLUSTER
    if _status(key, now) is KeyStatus.INVALIDATED:
        return Refusal.INVALIDATED
    return None


def deletable_keys(principal: Principal, now: datetime | None = None) -> QuerySet[ApiKey] | None:
    """`delete_refusal` as a queryset; None when the caller may delete no key at all."""
    if not may_delete_any(principal):
        return None
    keys = ApiKey.objects.all() if principal.can_manage_all_keys else ApiKey.objects.filter(owner=principal.user)
    if not principal.has_cluster("manage_security"):
        keys = keys.exclude(type=KeyType.CROSS_CLUSTER)
    return keys.without_status(KeyStatus.INVALIDATED, now)


def may_delete_all_matching_a_state(principal: Principal) -> bool:
    """Deleting every expired or every unused key at once is for administrators of every key."""
    return principal.can_manage_all_keys


# --- update and roll -----------------------------------------------------------------------------------------


def may_update(principal: Principal, kind: str) -> bool:
    """Whether the principal's privileges let it update its own keys of this type."""
    return principal.can_manage_own_keys if kind == KeyType.REST else principal.has_cluster("manage_security")


def update_refusal(
    principal: Principal,
    key: KeyFacts | None = None,
    now: datetime | None = None,
    kind: str | None = None,
    rolling: bool = False,
) -> Refusal | None:
    """Why `principal` may not update `key` (any key, when None) through the API for keys of type `kind` (the
    key's own type, when None: the console edits either), or None when it may. Rolling is updating, once."""
    kind = kind or (key.type if key is not None else KeyType.REST)
    if principal.api_key is not None:
        return Refusal.API_KEY
    if not may_update(principal, kind):
        return Refusal.NO_PRIVILEGE
    if key is None:
        return None
    status = _status(key, now)
    if status is KeyStatus.INVALIDATED:
        return Refusal.INVALIDATED
    if status is KeyStatus.EXPIRED:
        return Refusal.EXPIRED
    if key.type != kind:
        return Refusal.OTHER_TYPE
    if key.managed:
        return Refusal.MANAGED
    if not _owns(principal, key):
        return Refusal.NOT_OWNER
    if rolling and key.rolled_to:
        return Refusal.ROLLED
    return None


def roll_refusal(principal: Principal, key: KeyFacts | None = None, now: datetime | None = None) -> Refusal | None:
    return update_refusal(principal, key, now, rolling=True)


def clone_refusal(principal: Principal, key: KeyFacts | None = None, now: datetime | None = None) -> Refusal | None:
    """The console's clone, by id: the owner of an active user key (never a cross-cluster or managed one), who may
    make keys (`manage_own_api_key`), as for an update. The API's clone, by credential, is Elasticsearch's
    (`clone_api_key` and the key's secret: `services.clone`)."""
    return update_refusal(principal, key, now, kind=KeyType.REST)


# --- the audit log -------------------------------------------------------------------------------------------


def audit_refusal(principal: Principal) -> Refusal | None:
    """The audit log is for administrators of security (`manage_security`)."""
    return None if principal.has_cluster("manage_security") else Refusal.NO_PRIVILEGE
