"""API keys, which belong to users, and what is kept of their use: counts per hour and day, and each owner's
number of keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apikeys.domain import durations
from apikeys.domain.durations import epoch_millis
from apikeys.domain.key_rules import ExpirationPassed, KeyStatus
from apikeys.domain.privileges import RoleSet, in_answer_order, key_role_sets
from apikeys.models.identities import NATIVE_REALM, User, realm_type


def is_managed(metadata: dict | None) -> bool:
    """Managed keys are those whose `metadata.managed` is true (as Kibana tells them apart)."""
    # `is True`, not `in (True, ...)`: 1 == True, and `{"managed": 1}` is not a managed key.
    return bool(metadata) and (metadata.get("managed") is True or metadata.get("managed") == "true")


# Managed keys in the query DSL (the indexed `managed` column answers it: see `ApiKey.save`).
MANAGED_CLAUSE: dict[str, Any] = {"term": {"metadata.managed": True}}


class ApiKeyQuerySet(models.QuerySet):
    def with_status(self, status: KeyStatus, now: datetime | None = None) -> ApiKeyQuerySet:
        return self.filter(status.q(now or durations.now()))

    def without_status(self, status: KeyStatus, now: datetime | None = None) -> ApiKeyQuerySet:
        return self.filter(status.q_for_others(now or durations.now()))

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
    # A cross-cluster key's certificate identity (Elasticsearch 9.3): a regular expression the Distinguished Name
    # of the remote cluster's certificate must match. NULL when none, as `rolled_to`.
    certificate_identity = models.TextField(null=True, blank=True)  # noqa: DJ001
    last_used = models.DateTimeField(null=True, blank=True)
    # A roll links the two keys both ways; unique, so that a key has at most one successor whatever races.
    rolled_from = models.CharField(max_length=20, null=True, blank=True, unique=True)
    # NULL, not "", like `rolled_from`: the query API's `exists` reads NULL as missing.
    rolled_to = models.CharField(max_length=20, null=True, blank=True)  # noqa: DJ001
    # The expiration its owner was last told about (`notify_expiring_api_keys`): told once per expiration.
    expiry_notified = models.DateTimeField(null=True, blank=True)
    # The networks it may be used from (canonical CIDRs and addresses, `domain.networks`); NULL: anywhere.
    allowed_ips = models.JSONField(null=True, blank=True)
    # SHA-256 of a recognisable secret (`keys.digest`): finds the key of a leaked secret reported without its id.
    secret_digest = models.CharField(max_length=64, null=True, blank=True, unique=True)  # noqa: DJ001
    # Reported by secret scanning: `{"url", "source", "reported"}` (reported: epoch millis); NULL: never.
    leaked = models.JSONField(null=True, blank=True)

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
            # The Expiring soon page: its keys are a few days of this index, and their newest first come from
            # it alone (`listing.page_rows`, ids first), never from each matching key's row.
            models.Index(fields=["invalidated", "expiration", "creation", "id"], name="apikey_expiring"),
            models.Index(fields=["owner", "creation", "id"], name="apikey_owner"),
            models.Index(fields=["realm", "id"], name="apikey_realm"),
            # Few keys are cross-cluster: a partial index counts them (and filters on them) without a scan.
            models.Index(fields=["creation", "id"], name="apikey_cross_cluster", condition=Q(type="cross_cluster")),
            # "Not used" (`key_rules.NotUsedWithin`): counted from this index alone, never the keys' rows.
            models.Index(F("invalidated"), Coalesce("last_used", "creation"), F("expiration"), name="apikey_unused"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def save(self, *args, **kwargs) -> None:
        self.managed = is_managed(self.metadata)
        super().save(*args, **kwargs)

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether its expiration has passed (whatever else it is: see `status`)."""
        return ExpirationPassed(True).holds(self, now or durations.now())

    def status(self, now: datetime | None = None) -> KeyStatus:
        now = now or durations.now()
        return KeyStatus.of(self, now)

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

    # The fields `to_dict` reads (with `limited_by` when asked for): a list loads only these, not the hash, the
    # owner snapshot it does not show or the bookkeeping columns.
    WIRE_FIELDS = (
        *("id", "name", "type", "creation", "expiration", "invalidated", "invalidation", "username", "realm"),
        *("metadata", "role_descriptors", "access", "certificate_identity", "last_used", "rolled_from", "rolled_to"),
        *("allowed_ips", "leaked"),
    )

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
        out["realm_type"] = realm_type(self.realm)
        out["metadata"] = self.metadata or {}
        out["role_descriptors"] = in_answer_order(self.role_descriptors or {})
        if self.type == KeyType.CROSS_CLUSTER:
            out["access"] = self.access
        elif with_limited_by:
            out["limited_by"] = [in_answer_order(self.limited_by or {})]
        if self.certificate_identity is not None:
            out["certificate_identity"] = self.certificate_identity
        if self.last_used is not None:
            out["last_used"] = epoch_millis(self.last_used)
        if self.rolled_from:
            out["rolled_from"] = self.rolled_from
        if self.rolled_to:
            out["rolled_to"] = self.rolled_to
        if self.allowed_ips:
            out["allowed_ips"] = self.allowed_ips
        if self.leaked:
            out["leaked"] = self.leaked
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


class KeyUsageDay(models.Model):
    """Requests per key and UTC day, successes and refusals together: the list's sparklines read these (seven
    rows a key) instead of summing ~24 hourly rows per outcome for each day. `usage.store` writes both tables in
    one transaction, so they always agree; the purge prunes both. The day is a number (days since 1970-01-01,
    UTC), so reading a page's rows converts nothing: a date column cost the 250-row list 1.5 ms in parsing."""

    key_id = models.CharField(max_length=20)
    day = models.IntegerField(help_text="The UTC day counted, as days since 1970-01-01.")
    count = models.PositiveBigIntegerField(default=0)  # a day of every outcome: past 2**31 at ~25,000/s

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key_id", "day"], name="key_usage_day_unique")]
        indexes = [models.Index(fields=["day"], name="key_usage_day_day")]

    def __str__(self) -> str:
        return f"{self.key_id} {self.day} {self.count}"


class OwnerKeyCount(models.Model):
    """How many keys carry each owner's username, kept by database triggers on every insert and delete of
    keys (migration 0006), so bulk inserts, raw SQL and cascades count too. The Owner filter's counts read
    these few rows instead of every key: a GROUP BY over 100,000 keys took 6 to 8 ms."""

    username = models.CharField(max_length=150, primary_key=True)
    keys = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.username}: {self.keys}"
