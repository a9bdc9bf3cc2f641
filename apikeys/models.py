"""Users hold roles; a role is a named Elasticsearch role descriptor; API keys belong to users."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

NATIVE_REALM = "default_native"
SERVICE_ACCOUNT_REALM = "_service_account"
SERVICE_ACCOUNT_USERNAME = "elastic/console"


def is_managed(metadata: dict | None) -> bool:
    """Managed keys are those whose `metadata.managed` is true (as Kibana tells them apart)."""
    # `is True`, not `in (True, ...)`: 1 == True, and `{"managed": 1}` is not a managed key.
    return bool(metadata) and (metadata.get("managed") is True or metadata.get("managed") == "true")


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
    roles = models.ManyToManyField(Role, blank=True, related_name="users")
    is_service_account = models.BooleanField(default=False)

    @property
    def realm(self) -> str:
        return SERVICE_ACCOUNT_REALM if self.is_service_account else NATIVE_REALM


class ApiKeyQuerySet(models.QuerySet):
    def active(self, now=None) -> ApiKeyQuerySet:
        now = now or timezone.now()
        return self.filter(invalidated__in=[False]).filter(
            models.Q(expiration__isnull=True) | models.Q(expiration__gt=now)
        )


class ApiKey(models.Model):
    id = models.CharField(max_length=20, primary_key=True)
    name = models.CharField(max_length=256)
    type = models.CharField(max_length=16, default="rest")
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
    last_used = models.DateTimeField(null=True, blank=True)

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
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def save(self, *args, **kwargs) -> None:
        self.managed = is_managed(self.metadata)
        super().save(*args, **kwargs)

    def is_expired(self, now=None) -> bool:
        return self.expiration is not None and self.expiration <= (now or timezone.now())

    def is_active(self, now=None) -> bool:
        return not self.invalidated and not self.is_expired(now)

    def to_dict(self, with_limited_by: bool = False) -> dict:
        """The Elasticsearch ApiKey object, fields in Elasticsearch's order."""

        def millis(moment):
            return int(moment.timestamp() * 1000)

        out: dict = {"id": self.id, "name": self.name, "type": self.type, "creation": millis(self.creation)}
        if self.expiration is not None:
            out["expiration"] = millis(self.expiration)
        out["invalidated"] = self.invalidated
        if self.invalidation is not None:
            out["invalidation"] = millis(self.invalidation)
        out["username"] = self.username
        out["realm"] = self.realm
        out["metadata"] = self.metadata or {}
        out["role_descriptors"] = self.role_descriptors or {}
        if with_limited_by:
            out["limited_by"] = [self.limited_by or {}]
        if self.last_used is not None:
            out["last_used"] = millis(self.last_used)
        return out


class AuditEvent(models.Model):
    """Who did what to which key or account, from where and when. Never holds a secret."""

    class Action(models.TextChoices):
        CREATE = "create", "Created API key"
        GRANT = "grant", "Granted API key"
        UPDATE = "update", "Updated API key"
        INVALIDATE = "invalidate", "Invalidated API key"
        PURGE = "purge", "Purged API keys"
        ROLE_CHANGE = "role_change", "Changed role"
        ROLE_DELETE = "role_delete", "Deleted role"
        USER_CHANGE = "user_change", "Changed user"
        USER_DELETE = "user_delete", "Deleted user"
        AUTH_FAILURE = "auth_failure", "Authentication failed"
        SIGN_IN_FAILURE = "sign_in_failure", "Sign-in failed"

    timestamp = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    actor = models.CharField(max_length=150, blank=True, default="", help_text="Username, or empty when unknown.")
    key_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    target = models.CharField(max_length=512, blank=True, default="", help_text="Key name, role or user.")
    client_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [models.Index(fields=["action", "timestamp"], name="audit_action")]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.action} {self.actor} {self.key_id or self.target}"
