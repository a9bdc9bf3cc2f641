"""Application privileges: written, read and deleted by the `/_security/privilege` endpoints; read by privilege
checks, which resolve the privilege names of role descriptors' `applications` entries through them."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from django.db import transaction

from apikeys.access.principals import Principal
from apikeys.domain.errors import ParseFailed, ValidationFailed, reject_unknown
from apikeys.domain.privileges import RoleSet, actions, has_privileges, manages_applications
from apikeys.domain.privileges.applications import PRIVILEGE_NAME
from apikeys.models import ApplicationPrivilege
from apikeys.records import audit

log = logging.getLogger(__name__)

APPLICATION_PREFIX = re.compile(r"[a-z][A-Za-z0-9]*")
VISIBLE_ASCII = re.compile(r"[\x21-\x7e]*")
FILENAME_FORBIDDEN = '\\/*?"<>| ,'
# An action names an action (`data:read/*`) or a pattern: it holds one of these.
ACTION_CHARACTERS = "/*:"
PRIVILEGE_FIELDS = {"application", "name", "actions", "metadata"}


def application_name_problem(application: str) -> str | None:
    """What is wrong with an application's name, in Elasticsearch's words, or None."""
    if not application:
        return "Application names cannot be blank"
    if "*" in application:
        return f"Application names may not contain '*' (found '{application}')"
    if any(character.isspace() for character in application):
        return f"Application names may not contain whitespace (found '{application}')"
    prefix, *rest = re.split(r"[_-]", application, maxsplit=1)
    suffix = rest[0] if rest else ""
    if not APPLICATION_PREFIX.fullmatch(prefix):
        return f"An application name prefix must match the pattern ^[a-z][A-Za-z0-9]*$ (found '{prefix}')"
    if len(prefix) < 3:
        return f"An application name prefix must be at least 3 characters long (found '{prefix}')"
    if any(character in FILENAME_FORBIDDEN for character in suffix):
        return (
            f"An application name suffix may not contain any of the characters '{FILENAME_FORBIDDEN}' "
            f"(found '{suffix}')"
        )
    return None


def _parse(body: Any) -> list[tuple[str, str, list[str], dict[str, Any]]]:
    if not isinstance(body, Mapping) or not body:
        raise ValidationFailed("At least one application privilege must be provided")
    parsed, problems = [], []
    for application, privileges in body.items():
        if not isinstance(privileges, Mapping):
            raise ParseFailed(f"[{application}] must be an object of privileges")
        for name, privilege in privileges.items():
            if not isinstance(privilege, Mapping):
                raise ParseFailed(f"privilege [{application}/{name}] must be an object")
            reject_unknown(privilege, PRIVILEGE_FIELDS, f"privilege [{application}/{name}] unknown field [{{}}]")
            for field, expected in (("application", application), ("name", name)):
                if privilege.get(field, expected) != expected:
                    raise ParseFailed(f"privilege [{application}/{name}] has [{field}] [{privilege[field]}]")
            found_actions = privilege.get("actions")
            metadata = privilege.get("metadata", {})
            if not isinstance(found_actions, list) or not all(isinstance(a, str) for a in found_actions):
                raise ParseFailed(f"privilege [{application}/{name}] field [actions] must be an array of strings")
            if not isinstance(metadata, Mapping):
                raise ParseFailed(f"privilege [{application}/{name}] field [metadata] must be an object")
            if problem := application_name_problem(application):
                problems.append(problem)
            if not PRIVILEGE_NAME.fullmatch(name):
                problems.append(
                    f"Application privilege names must match the pattern ^[a-z][a-zA-Z0-9_.-]*$ (found '{name}')"
                )
            if not found_actions:
                problems.append("Application privileges must have at least one action")
            for action in found_actions:
                if not VISIBLE_ASCII.fullmatch(action) or not any(c in action for c in ACTION_CHARACTERS):
                    problems.append(
                        f"Application privilege actions must contain one of [{ACTION_CHARACTERS}] (found '{action}')"
                    )
            if any(key.startswith("_") for key in metadata):
                problems.append(f"metadata keys may not start with [_] (in privilege {application} {name})")
            parsed.append((application, name, found_actions, dict(metadata)))
    if problems:
        raise ValidationFailed(*problems)
    return parsed


def _require(principal: Principal, action: str, applications: Collection[str]) -> None:
    """The cluster privilege for `action`, or a `global.application.manage` privilege naming every application
    the request does (Elasticsearch's `ManageApplicationPrivileges`)."""
    if not manages_applications(principal.role_sets, applications):
        principal.require(action)


def put_privileges(principal: Principal, body: Any) -> dict[str, dict[str, dict[str, bool]]]:
    """Create or replace application privileges; answer which were created, by application and name. The body
    is read first, as Elasticsearch's REST layer does: who may write depends on the applications it names."""
    parsed = _parse(body)
    _require(principal, actions.PRIVILEGE_PUT, {application for application, *_ in parsed})
    answer: dict[str, dict[str, dict[str, bool]]] = {}
    with transaction.atomic():
        for application, name, privilege_actions, metadata in parsed:
            _, created = ApplicationPrivilege.objects.update_or_create(
                application=application, name=name, defaults={"actions": privilege_actions, "metadata": metadata}
            )
            answer.setdefault(application, {})[name] = {"created": created}
            audit.record(
                audit.Action.PRIVILEGE_CHANGE,
                principal.user.audit_name,
                target=f"{application}:{name}",
                client_address=principal.client_address,
                created=created,
            )
    log.info("application privileges written count=%d by=%s", sum(map(len, answer.values())), principal.user.audit_name)
    return answer


def get_privileges(
    principal: Principal, application: str | None = None, names: list[str] | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    _require(principal, actions.PRIVILEGE_GET, [application] if application else [])
    found = ApplicationPrivilege.objects.all()
    if application:
        found = found.filter(application=application)
    if names:
        found = found.filter(name__in=names)
    answer: dict[str, dict[str, dict[str, Any]]] = {}
    for privilege in found.order_by("application", "name"):
        answer.setdefault(privilege.application, {})[privilege.name] = privilege.to_dict()
    return answer


def delete_privileges(
    principal: Principal, application: str, names: list[str]
) -> dict[str, dict[str, dict[str, bool]]]:
    _require(principal, actions.PRIVILEGE_DELETE, [application])
    with transaction.atomic():
        existing = set(
            ApplicationPrivilege.objects.filter(application=application, name__in=names).values_list("name", flat=True)
        )
        ApplicationPrivilege.objects.filter(application=application, name__in=existing).delete()
        for name in sorted(existing):
            audit.record(
                audit.Action.PRIVILEGE_DELETE,
                principal.user.audit_name,
                target=f"{application}:{name}",
                client_address=principal.client_address,
            )
    return {application: {name: {"found": name in existing} for name in names}}


def definitions(applications: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """The privileges these applications define: application -> privilege name -> actions."""
    answer: dict[str, dict[str, list[str]]] = {}
    rows = ApplicationPrivilege.objects.filter(application__in=set(applications)).values_list(
        "application", "name", "actions"
    )
    for application, name, privilege_actions in rows:
        answer.setdefault(application, {})[name] = privilege_actions
    return answer


def check_privileges(role_sets: list[RoleSet], request: Any) -> dict[str, Any]:
    """`_has_privileges` for someone holding `role_sets`, the requested applications' privileges resolved."""
    entries = request.get("application") if isinstance(request, Mapping) else None
    named = [
        e["application"] for e in entries or [] if isinstance(e, Mapping) and isinstance(e.get("application"), str)
    ]
    return has_privileges(role_sets, request, definitions(named))
