"""Users hold roles; a role is a named Elasticsearch role descriptor; API keys belong to users."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .durations import epoch_millis
from .privileges import RoleSet, key_role_sets

NATIVE_REALM = "default_native"
SERVICE_ACCOUNT_REALM = "_service_account"
SERVICE_ACCOUNT_USERNAME = "elastic/console"


def is_managed(metadata: dict | None) -> bool:
    """Managed keys are those whose `metadata.managed` is true (as Kibana tells them apart)."""
    # `is True`, not `in (True, ...)`: 1 == True, and `{"managed": 1}` is not a managed key.
    return bool(metadata) and (metadata.get("managed") is True or metadata.get("managed") == "true")


# Managed keys in the query DSL (the indexed `managed` column answers it: see `ApiKey.save`).
MANAGED_CLAUSE: dict[str, Any] = {"term": {"metadata.managed": True}}


class Role(models.Model):
    name = models.CharField(max_length=507, unique=True)
    descriptor = models.JSONField(default=dict, help_text="A normalized Elasticsearch role descriptor.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    full_name = models.CharField(max_length=255, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    # Names, as Elasticsearch keeps them: a role that does not exist (yet) grants nothing until it is created.
    role_names = models.JSONField(default=list, blank=True, help_text="The names of the user's roles.")
    is_service_account = models.BooleanField(default=False)

    @property
    def realm(self) -> str:
        return SERVICE_ACCOUNT_REALM if self.is_service_account else NATIVE_REALM


class KeyStatus(models.TextChoices):
    """The state of a key. What each status means is its rule in `STATUS_RULES`, written once: the model
    method (`ApiKey.status`), the queryset methods and the query-DSL clauses all read that rule."""

    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    INVALIDATED = "invalidated", "Invalidated"

    def clause(self) -> dict[str, Any]:
        """Keys in this status, in the query DSL (the console's filters compile it like the query API)."""
        return _clause(STATUS_RULES[self])

    def clause_for_others(self) -> dict[str, Any]:
        """Keys in any other status, in the query DSL."""
        return _any_clause([part.negated().clause() for part in STATUS_RULES[self]])

    def q(self, now: datetime) -> Q:
        return _all_q(part.q(now) for part in STATUS_RULES[self])

    def q_for_others(self, now: datetime) -> Q:
        return _any_q(part.negated().q(now) for part in STATUS_RULES[self])

    def holds(self, key: ApiKey, now: datetime) -> bool:
        return all(part.holds(key, now) for part in STATUS_RULES[self])


@dataclass(frozen=True)
class Invalidated:
    """A status condition: the key is (or is not) invalidated."""

    value: bool

    def holds(self, key: ApiKey, now: datetime) -> bool:
        return key.invalidated == self.value

    def q(self, now: datetime) -> Q:
        # `IN (…)`, not Django's bare `"invalidated"` / `NOT "invalidated"`, which SQLite cannot read from an index.
        return Q(invalidated__in=[self.value])

    def clause(self) -> dict[str, Any]:
        return {"term": {"invalidated": self.value}}

    def negated(self) -> Invalidated:
        return Invalidated(not self.value)


@dataclass(frozen=True)
class ExpirationPassed:
    """A status condition: the key's expiration has (or has not, or it has none) passed."""

    value: bool

    def holds(self, key: ApiKey, now: datetime) -> bool:
        return key.is_expired(now) == self.value

    def q(self, now: datetime) -> Q:
        if self.value:
            return Q(expiration__lte=now)
        return Q(expiration__isnull=True) | Q(expiration__gt=now)

    def clause(self) -> dict[str, Any]:
        if self.value:
            return {"range": {"expiration": {"lte": "now"}}}
        return _any_clause(
            [{"bool": {"must_not": [{"exists": {"field": "expiration"}}]}}, {"range": {"expiration": {"gt": "now"}}}]
        )

    def negated(self) -> ExpirationPassed:
        return ExpirationPassed(not self.value)


# What each status means: every condition of its rule holds. The rules partition the keys (each key is in
# exactly one status), which the list's counts rely on.
STATUS_RULES: dict[KeyStatus, tuple[Invalidated | ExpirationPassed, ...]] = {
    KeyStatus.ACTIVE: (Invalidated(False), ExpirationPassed(False)),
    KeyStatus.EXPIRED: (Invalidated(False), ExpirationPassed(True)),
    KeyStatus.INVALIDATED: (Invalidated(True),),
}


@dataclass(frozen=True)
class ExpiresWithin:
    """A condition: the key's expiration is still to come, and comes within `days` from now."""

    days: int

    def holds(self, key: ApiKey, now: datetime) -> bool:
        return key.expiration is not None and now < key.expiration <= now + timedelta(days=self.days)

    def q(self, now: datetime) -> Q:
        return Q(expiration__gt=now, expiration__lte=now + timedelta(days=self.days))

    def clause(self) -> dict[str, Any]:
        # One range: the (invalidated, expiration) index reads exactly these keys.
        return {"range": {"expiration": {"gt": "now", "lte": f"now+{self.days}d"}}}


@dataclass(frozen=True)
class NotUsedWithin:
    """A condition: the key's last use (or, never used, its creation) is older than `days`."""

    days: int

    def holds(self, key: ApiKey, now: datetime) -> bool:
        return (key.last_used or key.creation) < now - timedelta(days=self.days)

    def q(self, now: datetime) -> Q:
        cutoff = now - timedelta(days=self.days)
        return Q(last_used__lt=cutoff) | Q(last_used__isnull=True, creation__lt=cutoff)

    def clause(self) -> dict[str, Any]:
        long_ago = {"lt": f"now-{self.days}d"}
        never_since_made = {
            "bool": {"must_not": [{"exists": {"field": "last_used"}}], "filter": [{"range": {"creation": long_ago}}]}
        }
        return _any_clause([{"range": {"last_used": long_ago}}, never_since_made])


@dataclass(frozen=True)
class KeyRule:
    """A set of keys named by conditions that all hold, with the same three faces as a status: one key in hand
    (`holds`), the ORM (`q`) and the query DSL (`clause`)."""

    parts: tuple[Invalidated | ExpirationPassed | ExpiresWithin | NotUsedWithin, ...]

    def holds(self, key: ApiKey, now: datetime) -> bool:
        return all(part.holds(key, now) for part in self.parts)

    def q(self, now: datetime) -> Q:
        return _all_q(part.q(now) for part in self.parts)

    def clause(self) -> dict[str, Any]:
        return _clause(self.parts)


def expiring_soon(days: int | None = None) -> KeyRule:
    """Active keys that expire within `days` (`APIKEYS_EXPIRING_SOON_DAYS`): the list's "Expiring soon"
    filter, their status's warning tone, and the owners' expiry digest."""
    days = settings.APIKEYS_EXPIRING_SOON_DAYS if days is None else days
    # Active (not invalidated, expiration not passed) and expiring within the days: the second condition
    # implies the expiration part of active's rule.
    return KeyRule((Invalidated(False), ExpiresWithin(days)))


def not_used(days: int | None = None) -> KeyRule:
    """Active keys not used in `days` (`APIKEYS_UNUSED_DAYS`), counting from creation when never used: the
    list's "Not used in 90 days" filter and its "Delete unused"."""
    days = settings.APIKEYS_UNUSED_DAYS if days is None else days
    return KeyRule((*STATUS_RULES[KeyStatus.ACTIVE], NotUsedWithin(days)))


def _clause(parts: tuple[Invalidated | ExpirationPassed | ExpiresWithin | NotUsedWithin, ...]) -> dict[str, Any]:
    clauses = [part.clause() for part in parts]
    return clauses[0] if len(clauses) == 1 else {"bool": {"filter": clauses}}


def _any_clause(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}


def _all_q(conditions: Iterable[Q]) -> Q:
    result = Q()
    for condition in conditions:
        result &= condition
    return result


def _any_q(conditions: Iterable[Q]) -> Q:
    result = Q(pk__in=[])
    for condition in conditions:
        result |= condition
    return result


class ApiKeyQuerySet(models.QuerySet):
    def with_status(self, status: KeyStatus, now: datetime | None = None) -> ApiKeyQuerySet:
        return self.filter(status.q(now or timezone.now()))

    def without_status(self, status: KeyStatus, now: datetime | None = None) -> ApiKeyQuerySet:
        return self.filter(status.q_for_others(now or timezone.now()))

    def active(self, now: datetime | None = None) -> ApiKeyQuerySet:
        return self.with_status(KeyStatus.ACTIVE, now)

    def expired(self, now: datetime | None = None) -> ApiKeyQuerySet:
        return self.with_status(KeyStatus.EXPIRED, now)

    def invalidated(self, now: datetime | None = None) -> ApiKeyQuerySet:
        return self.with_status(KeyStatus.INVALIDATED, now)

    def record_use(self, when: datetime) -> int:
        """Bookkeeping, not a change to the keys: nothing is audited and no cache is forgotten."""
        return self.update(last_used=when)


class KeyType(models.TextChoices):
    REST = "rest", "REST"
    CROSS_CLUSTER = "cross_cluster", "Cross-cluster"


class ApiKey(models.Model):
    id = models.CharField(max_length=20, primary_key=True)
    name = models.CharField(max_length=256)
    type = models.CharField(max_length=16, choices=KeyType.choices, default=KeyType.REST)
    # No index of its own: `apikey_owner` (owner, creation, id) starts with it.
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys", db_index=False)
    # Copies of the owner's name and realm: the query API filters and sorts on them at scale.
    username = models.CharField(max_length=150)
    realm = models.CharField(max_length=64, default=NATIVE_REALM)
    creation = models.DateTimeField(default=timezone.now)
    expiration = models.DateTimeField(null=True, blank=True)
    invalidated = models.BooleanField(default=False)
    invalidation = models.DateTimeField(null=True, blank=True)
    managed = models.BooleanField(default=False)
    hash = models.CharField(max_length=255)
    role_descriptors = models.JSONField(default=dict)
    limited_by = models.JSONField(default=dict)
    metadata = models.JSONField(default=dict)
    # A cross-cluster key's `access` as given (normalized); its role descriptor is built from it.
    access = models.JSONField(default=dict)
    last_used = models.DateTimeField(null=True, blank=True)
    # A roll links the two keys both ways; unique, so that a key has at most one successor whatever races.
    rolled_from = models.CharField(max_length=20, null=True, blank=True, unique=True)
    # NULL, not "", like `rolled_from`: the query API's `exists` reads NULL as missing.
    rolled_to = models.CharField(max_length=20, null=True, blank=True)  # noqa: DJ001
    # The expiration its owner was last told about (`notify_expiring_api_keys`): told once per expiration.
    expiry_notified = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["name", "id"], name="apikey_name"),
            models.Index(fields=["username", "id"], name="apikey_username"),
            models.Index(fields=["creation", "id"], name="apikey_creation"),
            models.Index(fields=["expiration", "id"], name="apikey_expiration"),
            models.Index(fields=["invalidated", "creation", "id"], name="apikey_invalidated"),
            models.Index(fields=["invalidation", "id"], name="apikey_invalidation"),
            models.Index(fields=["managed", "creation", "id"], name="apikey_managed"),
            models.Index(fields=["invalidated", "expiration", "id"], name="apikey_status_sort"),
            models.Index(fields=["owner", "creation", "id"], name="apikey_owner"),
            models.Index(fields=["realm", "id"], name="apikey_realm"),
            # Few keys are cross-cluster: a partial index counts them (and filters on them) without a scan.
            models.Index(fields=["creation", "id"], name="apikey_cross_cluster", condition=Q(type="cross_cluster")),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def save(self, *args, **kwargs) -> None:
        self.managed = is_managed(self.metadata)
        super().save(*args, **kwargs)

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether its expiration has passed (whatever else it is: see `status`)."""
        return self.expiration is not None and self.expiration <= (now or timezone.now())

    def status(self, now: datetime | None = None) -> KeyStatus:
        now = now or timezone.now()
        return next(status for status in STATUS_RULES if status.holds(self, now))

    @property
    def role_sets(self) -> list[RoleSet]:
        """What the key may do: its descriptors intersected with its owner snapshot (`key_role_sets`); a
        cross-cluster key's descriptor, built from its access, alone."""
        if self.type == KeyType.CROSS_CLUSTER:
            return [self.role_descriptors]
        return key_role_sets(self.role_descriptors, self.limited_by)

    @property
    def mentioned_roles(self) -> RoleSet:
        """The descriptors a key's effective privileges are listed for: its own, or its owner's when it has none."""
        return self.role_descriptors or self.limited_by

    def to_dict(self, with_limited_by: bool = False) -> dict:
        """The Elasticsearch ApiKey object, fields in Elasticsearch's order."""
        out: dict = {"id": self.id, "name": self.name, "type": self.type, "creation": epoch_millis(self.creation)}
        if self.expiration is not None:
            out["expiration"] = epoch_millis(self.expiration)
        out["invalidated"] = self.invalidated
        if self.invalidation is not None:
            out["invalidation"] = epoch_millis(self.invalidation)
        out["username"] = self.username
        out["realm"] = self.realm
        out["metadata"] = self.metadata or {}
        out["role_descriptors"] = self.role_descriptors or {}
        if self.type == KeyType.CROSS_CLUSTER:
            out["access"] = self.access
        elif with_limited_by:
            out["limited_by"] = [self.limited_by or {}]
        if self.last_used is not None:
            out["last_used"] = epoch_millis(self.last_used)
        if self.rolled_from:
            out["rolled_from"] = self.rolled_from
        if self.rolled_to:
            out["rolled_to"] = self.rolled_to
        return out


class KeyUsage(models.Model):
    """How often a key was used and refused, per hour and outcome (`usage.py` counts in memory and adds its
    counts here). No foreign key: counts outlive a purged key until their own retention, and a flush never
    waits on, or fails for, a key deleted meanwhile."""

    key_id = models.CharField(max_length=20)
    hour = models.DateTimeField(help_text="The start of the hour counted.")
    outcome = models.CharField(max_length=16, help_text="success, or why it was refused.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key_id", "hour", "outcome"], name="key_usage_unique")]
        indexes = [models.Index(fields=["hour"], name="key_usage_hour")]

    def __str__(self) -> str:
        return f"{self.key_id} {self.hour:%Y-%m-%d %H}:00 {self.outcome} {self.count}"


class OwnerKeyCount(models.Model):
    """How many keys carry each owner's username, kept by database triggers on every insert and delete of
    keys (migration 0006), so bulk inserts, raw SQL and cascades count too. The Owner filter's counts read
    these few rows instead of every key: a GROUP BY over 100,000 keys took 6 to 8 ms."""

    username = models.CharField(max_length=150, primary_key=True)
    keys = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.username}: {self.keys}"


class ApplicationPrivilege(models.Model):
    """A named privilege of an application (`myapp` `read` = actions `data:read/*`): what the `applications`
    entries of role descriptors grant, by name."""

    application = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    actions = models.JSONField(default=list)
    metadata = models.JSONField(default=dict)

    class Meta:
        ordering = ["application", "name"]
        constraints = [models.UniqueConstraint(fields=["application", "name"], name="app_privilege_unique")]

    def __str__(self) -> str:
        return f"{self.application}:{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"application": self.application, "name": self.name, "actions": self.actions, "metadata": self.metadata}


class Token(models.Model):
    """An OAuth2 access token and its refresh token, kept only as hashes (the tokens are 256 random bits)."""

    access_hash = models.CharField(max_length=64, unique=True)
    refresh_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    # Who asked for it: only the same client may refresh it, as in Elasticsearch.
    client = models.CharField(max_length=150, blank=True, default="")
    grant_type = models.CharField(max_length=32)
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    refresh_expires = models.DateTimeField(null=True, blank=True)
    refreshed = models.BooleanField(default=False, help_text="Its refresh token has been used (once only).")
    invalidated = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["expires"], name="token_expires")]

    def __str__(self) -> str:
        return f"token of {self.user_id} until {self.expires:%Y-%m-%d %H:%M:%S}"


class AuditEvent(models.Model):
    """Who did what to which key or account, from where and when. Never holds a secret."""

    class Action(models.TextChoices):
        CREATE = "create", "Created API key"
        GRANT = "grant", "Granted API key"
        UPDATE = "update", "Updated API key"
        ROLL = "roll", "Rolled API key"
        INVALIDATE = "invalidate", "Invalidated API key"
        PURGE = "purge", "Purged API keys"
        ROLE_CHANGE = "role_change", "Changed role"
        ROLE_DELETE = "role_delete", "Deleted role"
        USER_CHANGE = "user_change", "Changed user"
        USER_DELETE = "user_delete", "Deleted user"
        PRIVILEGE_CHANGE = "privilege_change", "Changed application privilege"
        PRIVILEGE_DELETE = "privilege_delete", "Deleted application privilege"
        TOKEN_CREATE = "token_create", "Created token"
        TOKEN_REFRESH = "token_refresh", "Refreshed token"
        TOKEN_INVALIDATE = "token_invalidate", "Invalidated tokens"
        AUTH_FAILURE = "auth_failure", "Authentication failed"
        SIGN_IN_FAILURE = "sign_in_failure", "Sign-in failed"

    timestamp = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    actor = models.CharField(max_length=150, blank=True, default="", help_text="Username, or empty when unknown.")
    key_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    target = models.CharField(max_length=512, blank=True, default="", help_text="Key name, role or user.")
    client_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # How many times it happened: failed authentications are counted into one event per client and window.
    count = models.PositiveIntegerField(default=1, db_default=1)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [models.Index(fields=["action", "timestamp"], name="audit_action")]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.action} {self.actor} {self.key_id or self.target}"
