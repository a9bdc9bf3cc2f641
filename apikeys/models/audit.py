"""What happened: the audit log, its outbox for the webhook, and the heartbeats of recurring work."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
