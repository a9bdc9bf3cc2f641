"""Users hold roles; a role is a named Elasticsearch role descriptor; API keys belong to users."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apikeys.domain import durations
from apikeys.domain.durations import epoch_millis
from apikeys.domain.key_rules import ExpirationPassed, KeyStatus
from apikeys.domain.privileges import RoleSet, in_answer_order, key_role_sets

NATIVE_REALM = "default_native"
SERVICE_ACCOUNT_REALM = "_service_account"


def realm_type(realm: str) -> str:
    """A realm's type, as Elasticsearch says it: every realm but these two is an identity provider's
    (`APIKEYS_OIDC_REALM`)."""
    return {NATIVE_REALM: "native", SERVICE_ACCOUNT_REALM: SERVICE_ACCOUNT_REALM}.get(realm, "oidc")


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


class RealmUserManager(UserManager):
    def get_by_natural_key(self, username: str) -> User:
        """Passwords (Django's sign-in, `createsuperuser`) are the native realm's alone."""
        return self.get(username=username, external_realm="")


class User(AbstractUser):
    """A username within a realm, as Elasticsearch has it: the provider's `alice` is not the native `alice`."""

    username = models.CharField(
        max_length=150,
        validators=[AbstractUser.username_validator],
        help_text="Unique within its realm. Letters, digits and @/./+/-/_ only.",
    )
    # The realm of a user signed in through an identity provider; empty for native users and service accounts.
    external_realm = models.CharField(max_length=64, blank=True, default="")
    full_name = models.CharField(max_length=255, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    # Names, as Elasticsearch keeps them: a role that does not exist (yet) grants nothing until it is created.
    role_names = models.JSONField(default=list, blank=True, help_text="The names of the user's roles.")
    is_service_account = models.BooleanField(default=False)

    objects = RealmUserManager()

    class Meta(AbstractUser.Meta):
        constraints = [models.UniqueConstraint(fields=["username", "external_realm"], name="user_username_realm")]

    @property
    def realm(self) -> str:
        if self.external_realm:
            return self.external_realm
        return SERVICE_ACCOUNT_REALM if self.is_service_account else NATIVE_REALM

    @property
    def realm_type(self) -> str:
        return realm_type(self.realm)

    @property
    def audit_name(self) -> str:
        """How the audit log names this user: the username, and the realm when it is an identity provider's."""
        return f"{self.username} ({self.external_realm})" if self.external_realm else self.username


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
        CLONE = "clone", "Cloned API key"
        INVALIDATE = "invalidate", "Invalidated API key"
        LEAK = "leak", "Reported leaked API key"
        PURGE = "purge", "Purged API keys"
        ROLE_CHANGE = "role_change", "Changed role"
        ROLE_DELETE = "role_delete", "Deleted role"
        ROLE_MAPPING_CHANGE = "role_mapping_change", "Changed role mapping"
        ROLE_MAPPING_DELETE = "role_mapping_delete", "Deleted role mapping"
        SIGN_IN = "sign_in", "Signed in"
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


class RoleMapping(models.Model):
    """Which roles the users of a realm hold, by rules on what the realm says of them (Elasticsearch's role
    mappings): stored as validated (`domain.role_mappings.validate_mapping`)."""

    name = models.CharField(max_length=507, unique=True)
    enabled = models.BooleanField(default=True)
    roles = models.JSONField(default=list, blank=True)
    role_templates = models.JSONField(default=list, blank=True)
    rules = models.JSONField(default=dict)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def as_stored(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "roles": self.roles,
            "role_templates": self.role_templates,
            "rules": self.rules,
            "metadata": self.metadata,
        }


class AuditOutbox(models.Model):
    """An audit event waiting to be sent to the webhook (`APIKEYS_AUDIT_WEBHOOK_URL`): written in the transaction
    that writes the event, deleted once the receiver has taken it. Events leave in the order of their ids."""

    event = models.OneToOneField(AuditEvent, on_delete=models.CASCADE, primary_key=True, related_name="+")

    def __str__(self) -> str:
        return f"audit event {self.event_id} waiting"


class Heartbeat(models.Model):
    """When a job that runs outside requests last finished well (`purge`): what the metrics report, whichever
    process ran it (a cron job's `manage.py`, a worker)."""

    PURGE = "purge"  # the retention purge (`services.purge_api_keys`)

    name = models.CharField(max_length=64, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
