"""Who is calling and what they hold: a user's role set, or an API key's two role sets."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.http import HttpRequest

from .http import client_address
from .models import ApiKey, Role, User
from .privileges import RESERVED_ROLES, RoleSet, has_cluster, key_role_sets


def user_role_names(user: User) -> list[str]:
    """The roles a user is assigned, by name (some may not exist yet), and `superuser` for Django superusers."""
    names = set(user.role_names)
    if user.is_superuser:
        names.add("superuser")
    return sorted(names)


def user_roles(user: User) -> dict[str, dict]:
    """The role set a user holds now: those of its assigned roles that exist, the built-in ones included."""
    names = user_role_names(user)
    roles = {name: RESERVED_ROLES[name] for name in names if name in RESERVED_ROLES}
    stored = [name for name in names if name not in RESERVED_ROLES]
    if stored:
        roles.update(Role.objects.filter(name__in=stored).values_list("name", "descriptor"))
    return dict(sorted(roles.items()))


@dataclass
class Principal:
    user: User
    api_key: ApiKey | None = None
    role_sets: list[RoleSet] = field(default_factory=list)
    client_address: str | None = None
    _cluster: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def for_user(cls, user: User) -> Principal:
        return cls(user=user, role_sets=[user_roles(user)])

    @classmethod
    def signed_in(cls, request: HttpRequest) -> Principal:
        """The signed-in user of a console request, worked out once per request (its page and the fragments
        rendered inside it all ask)."""
        principal = getattr(request, "_apikeys_principal", None)
        if principal is None:
            principal = cls.for_user(request.user)
            principal.client_address = client_address(request)
            request._apikeys_principal = principal
        return principal

    @classmethod
    def for_api_key(cls, key: ApiKey) -> Principal:
        return cls(user=key.owner, api_key=key, role_sets=key_role_sets(key.role_descriptors, key.limited_by))

    def has_cluster(self, privilege: str) -> bool:
        if privilege not in self._cluster:
            self._cluster[privilege] = has_cluster(self.role_sets, privilege)
        return self._cluster[privilege]

    @property
    def can_manage_all_keys(self) -> bool:
        return self.has_cluster("manage_api_key")

    @property
    def can_read_all_keys(self) -> bool:
        return self.can_manage_all_keys or self.has_cluster("read_security")

    @property
    def can_manage_own_keys(self) -> bool:
        return self.has_cluster("manage_own_api_key")

    def visible_keys(self) -> QuerySet[ApiKey] | None:
        """Every key for readers of all keys, the caller's own for `manage_own_api_key`, else None."""
        if self.can_read_all_keys:
            return ApiKey.objects.all()
        if self.can_manage_own_keys:
            return ApiKey.objects.filter(owner=self.user)
        return None

    def deletable_keys(self) -> QuerySet[ApiKey] | None:
        """Every key for `manage_api_key` and above, the caller's own for `manage_own_api_key`, else None."""
        if self.can_manage_all_keys:
            return ApiKey.objects.all()
        if self.can_manage_own_keys:
            return ApiKey.objects.filter(owner=self.user)
        return None

    def snapshot(self) -> dict[str, dict]:
        """What a key created by this principal is limited by: the owner's roles, or the creating key's."""
        if self.api_key is not None:
            return self.api_key.role_descriptors or self.api_key.limited_by
        return dict(self.role_sets[0])
