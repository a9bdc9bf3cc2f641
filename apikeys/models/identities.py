"""Who: users within realms, the roles they hold and how a provider's claims map to roles, application
privileges, and the access tokens users are given."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone

NATIVE_REALM = "default_native"
SERVICE_ACCOUNT_REALM = "_service_account"


def realm_type(realm: str) -> str:
    """A realm's type, as Elasticsearch says it: every realm but these two is an identity provider's
    (`APIKEYS_OIDC_REALM`)."""
    return {NATIVE_REALM: "native", SERVICE_ACCOUNT_REALM: SERVICE_ACCOUNT_REALM}.get(realm, "oidc")


SERVICE_ACCOUNT_USERNAME = "elastic/console"


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
