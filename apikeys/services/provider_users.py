"""The users of the OpenID Connect realm: made or brought up to date at each sign-in from the provider's claims,
their roles worked out afresh from the role mappings each time (a person taken out of a group loses its roles
at their next sign-in; keys made before keep the `limited_by` of their creation, as in Elasticsearch). A
sign-in that gives no role creates nothing."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction

from apikeys.domain.role_mappings import UserData, mapped_roles
from apikeys.infra.oidc import Problem, SignInFailed
from apikeys.models import RoleMapping, User
from apikeys.records import audit

log = logging.getLogger(__name__)
# The provider's claims kept in the user's metadata, as Elasticsearch's OpenID Connect realm keeps them.
METADATA_CLAIMS = ("sub", "iss")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def user_data(claims: Mapping[str, Any]) -> UserData:
    """What the provider says of the person, as role mappings see it."""
    username_claim, groups_claim, _, _ = settings.APIKEYS_OIDC_CLAIMS
    username = _text(claims.get(username_claim)).strip()
    if not username or len(username) > 150:
        raise SignInFailed(Problem.NO_USERNAME, username_claim)
    groups = claims.get(groups_claim) or []
    groups = [groups] if isinstance(groups, str) else [g for g in groups if isinstance(g, str)]
    metadata = {f"oidc({name})": claims[name] for name in METADATA_CLAIMS if name in claims}
    return UserData(username=username, realm=settings.APIKEYS_OIDC_REALM, groups=tuple(groups), metadata=metadata)


def sign_in_provider_user(claims: Mapping[str, Any], client_address: str | None) -> User:
    """The realm's user for these claims, made or updated with the roles the mappings give now."""
    data = user_data(claims)
    roles = mapped_roles((m.as_stored() for m in RoleMapping.objects.filter(enabled=True)), data)
    if not roles:
        raise SignInFailed(Problem.NO_ROLE, username=data.username)
    _, _, email_claim, name_claim = settings.APIKEYS_OIDC_CLAIMS
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=data.username, external_realm=data.realm).first()
        created = user is None
        if created:
            user = User(username=data.username, external_realm=data.realm)
            user.set_unusable_password()
        elif not user.is_active:
            raise SignInFailed(Problem.DISABLED, username=data.username)
        user.email = _text(claims.get(email_claim))[:254]
        user.full_name = _text(claims.get(name_claim))[:255]
        user.metadata = dict(data.metadata)
        user.role_names = roles
        user.is_superuser = user.is_staff = "superuser" in roles
        user.save()
        audit.record(
            audit.Action.SIGN_IN,
            data.username,
            target=data.username,
            client_address=client_address,
            realm=data.realm,
            roles=roles,
            created=created,
        )
    log.info("provider sign-in username=%s realm=%s roles=%s", data.username, data.realm, ",".join(roles))
    return user
