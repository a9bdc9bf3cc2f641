"""Who is calling and what they hold: a user's role set, or an API key's two role sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from apikeys.domain.errors import ActionDenied, Requester
from apikeys.domain.privileges import RESERVED_ROLES, RoleSet, has_cluster
from apikeys.domain.privileges.actions import GRANTED_BY, USER_CHANGE_PASSWORD
from apikeys.infra.http import client_address
from apikeys.models import NATIVE_REALM, ApiKey, Role, User

# Who manages the credential, as Elasticsearch 9.4's `_authenticate` says: "elasticsearch" for its own API keys,
# "cloud" only for Elastic Cloud's. Every key here is one of ours, Kibana-style managed keys (`metadata.managed`)
# included: that word is about which application uses a key, not about who keeps it.
API_KEY_MANAGED_BY = "elasticsearch"


def user_role_names(user: User) -> list[str]:
    """The roles a user is assigned, by name (some may not exist yet), and `superuser` for Django superusers."""
    names = set(user.role_names)
    if user.is_superuser:
        names.add("superuser")
    return sorted(names)


def user_fields(user: User, roles: list[str]) -> dict[str, Any]:
    """A user as Elasticsearch describes one, in the get-user answer and in `_authenticate` alike."""
    return {
        "username": user.username,
        "roles": roles,
        "full_name": user.full_name or None,
        "email": user.email or None,
        "metadata": user.metadata or {},
        "enabled": user.is_active,
    }


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
    by_token: bool = False  # authenticated with an OAuth2 access token (`Authorization: Bearer`)
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
        return cls(user=key.owner, api_key=key, role_sets=key.role_sets)

    def authentication(self) -> dict[str, Any]:
        """Who this is, as `_authenticate` (and the token endpoint) describe an authentication."""
        user = self.user
        out = user_fields(user, [] if self.api_key else user_role_names(user))  # a key holds no roles
        if self.api_key is not None:
            realm = {"name": "_es_api_key", "type": "_es_api_key"}
            out.update(authentication_realm=realm, lookup_realm=realm, authentication_type="api_key")
            out["api_key"] = {"id": self.api_key.id, "name": self.api_key.name, "managed_by": API_KEY_MANAGED_BY}
        else:
            realm = {"name": user.realm, "type": user.realm_type}
            kind = "token" if self.by_token else "realm"
            out.update(authentication_realm=realm, lookup_realm=realm, authentication_type=kind)
        return out

    def requester(self) -> Requester:
        """Who this is, as a denial reports it: an API key (by its id, and its owner), a service account, or a
        user with the roles that apply and those it is assigned."""
        if self.api_key is not None:
            return Requester(Requester.API_KEY, self.user.username, api_key_id=self.api_key.id)
        if self.user.is_service_account:
            return Requester(Requester.SERVICE_ACCOUNT, self.user.username)
        effective = tuple(sorted(self.role_sets[0])) if self.role_sets else ()
        assigned = tuple(user_role_names(self.user))
        return Requester(Requester.USER, self.user.username, effective_roles=effective, assigned_roles=assigned)

    def denied(self, action: str, own: bool = False, run_as: str = "") -> ActionDenied:
        """A refusal of `action` to this principal (`own`: the request was about the caller's own keys, which
        `manage_own_api_key` grants; `run_as`: the user it may not act as)."""
        return ActionDenied(action, self.requester(), own=own, run_as=run_as)

    def require(self, action: str) -> None:
        """Refuse `action` unless a cluster privilege of this principal grants it whatever the request says."""
        if not any(self.has_cluster(privilege) for privilege in GRANTED_BY[action]):
            raise self.denied(action)

    def signed_in_with_password(self) -> bool:
        """Whether a native user authenticated itself with its own password: not through an API key or a token,
        and not a service account. Elasticsearch's same-user rules hold only for such a caller."""
        return self.api_key is None and not self.by_token and self.user.realm == NATIVE_REALM

    def require_password_change(self, username: str) -> None:
        """Refuse to change `username`'s password unless a privilege grants it (`manage_security`), or the caller
        is that user signed in with its password (Elasticsearch's same-user privilege: never a key or a token)."""
        if username != self.user.username or not self.signed_in_with_password():
            self.require(USER_CHANGE_PASSWORD)

    def names_own_keys(
        self, owner: bool = False, username: str | None = None, realm: str | None = None, ids: list[str] | None = None
    ) -> bool:
        """Whether a request names only the caller's own keys, as `manage_own_api_key` needs it to in
        Elasticsearch: `owner`; for a user, its username and its realm both; for an API key, its own id."""
        if owner:
            return True
        if self.api_key is not None:
            return bool(ids) and all(key_id == self.api_key.id for key_id in ids)
        return username == self.user.username and realm == self.user.realm

    def own_keys(self) -> QuerySet[ApiKey]:
        return ApiKey.objects.filter(owner=self.user)

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

    def snapshot(self) -> dict[str, dict]:
        """What a key created by this principal is limited by: the owner's roles, or the creating key's."""
        if self.api_key is not None:
            return self.api_key.role_descriptors or self.api_key.limited_by
        return dict(self.role_sets[0])
