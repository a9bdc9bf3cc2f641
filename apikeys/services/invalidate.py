"""Invalidating keys (by the API's selectors or the console's choice) and purging them once retention ends."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apikeys.access.permissions import KeyRow, Refusal, addressed_keys, delete_refusal
from apikeys.access.principals import Principal
from apikeys.domain.durations import now_ms
from apikeys.domain.errors import ParseFailed, ValidationFailed
from apikeys.domain.privileges import actions
from apikeys.infra import caching
from apikeys.infra.deferred import after_response
from apikeys.models import ApiKey, Heartbeat
from apikeys.query import name_filter
from apikeys.records import audit, usage
from apikeys.services import tokens
from apikeys.services.validation import reject_unknown_fields, require_object
from apikeys.services.writes import by_ids, keys_written

log = logging.getLogger(__name__)

INVALIDATE_FIELDS = {"ids", "id", "name", "username", "realm_name", "owner"}


def parse_invalidate(body: Any) -> dict[str, Any]:
    body = require_object(body, "invalidate_api_key")
    reject_unknown_fields(body, INVALIDATE_FIELDS, "invalidate_api_key")
    for selector in ("id", "name", "username", "realm_name"):
        if body.get(selector) is not None and not isinstance(body[selector], str):
            raise ParseFailed(f"[invalidate_api_key] field [{selector}] must be a string")
    ids = body.get("ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise ParseFailed("[invalidate_api_key] field [ids] must be an array of strings")
    owner = body.get("owner", False)
    if not isinstance(owner, bool):
        raise ParseFailed("[invalidate_api_key] field [owner] must be a boolean")
    problems = []
    if body.get("id") is not None and ids is not None:
        problems.append("Must use either [id] or [ids], not both at the same time")
    if ids is not None and not ids:
        problems.append("Field [ids] cannot be an empty array")
    all_ids = ids if ids is not None else ([body["id"]] if body.get("id") else None)
    if all_ids and body.get("name"):
        problems.append("only one of [api key id(s), api key name] can be specified")
    if owner and (body.get("username") or body.get("realm_name")):
        problems.append("username or realm name must not be specified when the current user's API keys are requested")
    if (
        not owner
        and not (all_ids or body.get("name") or body.get("username") or body.get("realm_name"))
        and not problems
    ):
        problems.append(
            "One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false"
        )
    if problems:
        raise ValidationFailed(*problems)
    return {
        "ids": all_ids,
        "name": body.get("name") or None,
        "username": body.get("username") or None,
        "realm_name": body.get("realm_name") or None,
        "owner": owner,
    }


def invalidation_scope(principal: Principal, selectors: Mapping[str, Any]) -> QuerySet:
    """The keys the selectors name, when the principal may invalidate them: every key for `manage_api_key`,
    its own for `manage_own_api_key` when the request names only them (Elasticsearch's rule); else 403."""
    own = principal.names_own_keys(selectors["owner"], selectors["username"], selectors["realm_name"], selectors["ids"])
    scope = addressed_keys(principal, principal.can_manage_all_keys, own, actions.API_KEY_INVALIDATE)
    if selectors.get("owner"):
        scope = scope.filter(owner=principal.user)
    if selectors.get("username"):
        scope = scope.filter(username=selectors["username"])
    if selectors.get("realm_name"):
        scope = scope.filter(realm=selectors["realm_name"])
    if selectors.get("name"):
        scope = scope.filter(name_filter(selectors["name"]))
    return scope


def invalidate_api_keys(principal: Principal, body: Any) -> Invalidation:
    selectors = parse_invalidate(body)
    return invalidate_keys(invalidation_scope(principal, selectors), selectors["ids"], principal)


@dataclass
class Invalidation:
    """What an invalidation did, id by id: newly invalidated, invalidated before, or refused (and why)."""

    invalidated: list[str] = field(default_factory=list)
    previously: list[str] = field(default_factory=list)
    refused: dict[str, Refusal] = field(default_factory=dict)


def invalidate_keys(scope: QuerySet, ids: list[str] | None, principal: Principal) -> Invalidation:
    """Invalidate the keys of `scope` (restricted to `ids` when given) that `delete_refusal` allows: one
    set-based transaction. Keys it refuses are left alone and reported, an invalidated one as before."""
    now = now_ms()
    outcome = Invalidation()
    with transaction.atomic():
        columns = ("name", *KeyRow._fields)
        if ids is None:
            found = list(scope.select_for_update().values_list(*columns))
        else:
            found = []
            for chunk in by_ids(scope.select_for_update(), list(dict.fromkeys(ids))):
                found += chunk.values_list(*columns)
        names = {}
        for name, *facts in found:
            row = KeyRow(*facts)
            refusal = delete_refusal(principal, row, now)
            if refusal is Refusal.INVALIDATED:
                outcome.previously.append(row.id)
            elif refusal is not None:
                outcome.refused[row.id] = refusal
            else:
                outcome.invalidated.append(row.id)
                names[row.id] = name
        for chunk in by_ids(ApiKey.objects.all(), outcome.invalidated):
            chunk.update(invalidated=True, invalidation=now)
        if outcome.invalidated:
            audit.record_many(
                audit.Action.INVALIDATE,
                principal.user.audit_name,
                [(i, names[i]) for i in outcome.invalidated],
                principal.client_address,
            )
            keys_written(outcome.invalidated)
            transaction.on_commit(lambda: after_response(purge_if_due))
    if outcome.invalidated:
        log.info("api keys invalidated count=%d by=%s", len(outcome.invalidated), principal.user.username)
    return outcome


def purge_if_due() -> int:
    """Run the retention purge at most once per interval, whichever process or worker asks first; tokens
    nobody can use any more go at the same time."""
    if caching.claim(caching.PURGE_DUE, settings.APIKEYS_PURGE_INTERVAL_SECONDS):
        tokens.purge_tokens()
        return purge_api_keys()
    return 0


def purge_api_keys(now: datetime | None = None, retention_days: int | None = None) -> int:
    """Delete for good the keys invalidated or expired longer ago than the retention period."""
    days = settings.APIKEYS_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    with transaction.atomic():
        doomed = ApiKey.objects.filter(Q(invalidated=True, invalidation__lt=cutoff) | Q(expiration__lt=cutoff))
        gone = list(doomed.values_list("id", "name"))
        ids = [key_id for key_id, _ in gone]
        for chunk in by_ids(ApiKey.objects.all(), ids):
            chunk.delete()
        if gone:
            audit.record_many(audit.Action.PURGE, "system", gone)
            keys_written(ids)
    if ids:
        log.info("api keys purged count=%d retention_days=%d", len(ids), days)
    usage.prune(now)
    Heartbeat.objects.update_or_create(name=Heartbeat.PURGE, defaults={"at": timezone.now()})
    return len(ids)
