"""Rolling a key: its successor gets a new secret at once, and the old key keeps working for a grace period
the caller chooses (`0s`: it stops now), as Stripe's "Roll key" does. Our extension: Elasticsearch has none."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction

from apikeys.access.permissions import Refusal, Refused, roll_refusal
from apikeys.access.principals import Principal
from apikeys.domain.durations import iso_timestamp, now_ms, parse_duration
from apikeys.domain.errors import ValidationFailed
from apikeys.domain.networks import parse_allowlist
from apikeys.models import ApiKey, KeyType
from apikeys.records import audit
from apikeys.services.create import CreatedKey, insert_key
from apikeys.services.lifetime import successor_expiration
from apikeys.services.update import check_caller
from apikeys.services.validation import KeyRequest, reject_unknown_fields, require_object
from apikeys.services.writes import keys_written

log = logging.getLogger(__name__)

ROLL_FIELDS = {"grace_period", "allowed_ips"}
DEFAULT_GRACE_PERIOD = "24h"
MAX_GRACE_PERIOD = "30d"
KEEP = object()  # a roll without `allowed_ips`: the successor keeps the old key's


def parse_roll(body: Any) -> tuple[str, timedelta, Any]:
    """What a roll request asks for: the grace period (text and span: default 24 hours, at most 30 days) and
    the successor's allowlist (`allowed_ips`: a list, empty for anywhere; absent or null: the old key's)."""
    body = require_object(body if body is not None else {}, "roll_api_key")
    reject_unknown_fields(body, ROLL_FIELDS, "roll_api_key")
    allowed_ips = KEEP if body.get("allowed_ips") is None else parse_allowlist(body["allowed_ips"])
    return *parse_grace_period(body.get("grace_period")), allowed_ips


def parse_grace_period(text: Any) -> tuple[str, timedelta]:
    if text is None:
        text = DEFAULT_GRACE_PERIOD
    seconds = parse_duration(text, "grace_period")
    if seconds > parse_duration(MAX_GRACE_PERIOD):
        raise ValidationFailed(
            f"[grace_period] [{text}] is longer than the maximum of [{MAX_GRACE_PERIOD}]", path="grace_period"
        )
    return text, timedelta(seconds=seconds)


def roll_api_key(principal: Principal, key_id: str, body: Any) -> CreatedKey:
    """Replace one of the caller's active keys: a successor with the same name, type, role descriptors or
    access (and certificate identity) and metadata, living as long as the key did (`successor_expiration`), its `limited_by` the owner's
    roles now; the old key expires at the earlier of its own expiration and now + grace. One transaction; a key
    is rolled at most once (the lock, and `rolled_from` being unique, see to it whatever races)."""
    grace_text, grace, allowed_ips = parse_roll(body)
    check_caller(principal, verb="roll")
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(pk=key_id, owner=principal.user).first()
        if key is None:
            raise Refused(Refusal.NOT_FOUND, key_id, verb="roll")
        now = now_ms()
        if refusal := roll_refusal(principal, key, now):
            raise Refused(refusal, key.id, key.type, verb="roll", successor=key.rolled_to or "")
        request = KeyRequest(
            name=key.name,
            expiration=successor_expiration(key, now),
            role_descriptors=key.role_descriptors,
            metadata=key.metadata,
            type=key.type,
            access=key.access,
            certificate_identity=key.certificate_identity,
            allowed_ips=key.allowed_ips if allowed_ips is KEEP else allowed_ips,
        )
        limited_by = principal.snapshot() if key.type == KeyType.REST else {}
        created = insert_key(principal.user, request, limited_by, principal, action=None, rolled_from=key.id)
        stops = now + grace
        key.expiration = min(key.expiration, stops) if key.expiration else stops
        key.rolled_to = created.key.id
        key.save(update_fields=["expiration", "rolled_to"])
        audit.record(
            audit.Action.ROLL,
            actor=principal.user.audit_name,
            key_id=key.id,
            target=key.name,
            client_address=principal.client_address,
            rolled_to=created.key.id,
            grace_period=grace_text,
            old_key_expires=iso_timestamp(key.expiration),
        )
        keys_written([key.id])
    log.info("api key rolled id=%s to=%s grace=%s owner=%s", key.id, created.key.id, grace_text, key.username)
    return created
