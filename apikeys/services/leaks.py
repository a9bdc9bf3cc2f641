"""Leaked keys defend themselves (our extension): a secret scanner (GitHub's partner program) reports tokens
it found in public, signed (`infra.secret_scanning`); each that is one of our keys, active, is marked leaked
and, as `APIKEYS_LEAK_ACTION` says, invalidated (the default) or left working; either way its owner is told
by e-mail and the audit log records it. A report is matched by the encoded credential, `id:secret`, or the
bare secret: a recognisable one is found by its digest (`keys.digest`), an Elasticsearch-style one cannot be
(nothing in it names its key). The answer is GitHub's feedback, one entry per token, which tells the reporter
only whether the token was ours (`true_positive`) or not; a replayed report changes nothing again."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from apikeys.domain import keys
from apikeys.domain.durations import epoch_millis, now_ms
from apikeys.domain.errors import AuthenticationFailed, ParseFailed
from apikeys.domain.key_rules import KeyStatus
from apikeys.infra import secret_scanning
from apikeys.models import ApiKey
from apikeys.records import audit
from apikeys.services.writes import keys_written

log = logging.getLogger(__name__)

MAX_REPORTS = 1000
REPORT_FIELDS = ("token", "type", "url")
SCANNER = "secret scanning"  # the audit log's actor


@dataclass(frozen=True)
class LeakReport:
    token: str
    type: str
    url: str
    source: str


def report_leaks(payload: bytes, key_identifier: str, signature: str, address: str | None) -> list[dict[str, Any]]:
    """Check the signature, then each reported token: GitHub's feedback array, in the reports' order."""
    if not secret_scanning.signature_holds(payload, key_identifier, signature):
        raise AuthenticationFailed("unable to verify the signature of the secret scanning report")
    feedback = []
    for report in parse_reports(payload):
        key = reported_key(report.token)
        if key is not None:
            defend(key, report, address)
        feedback.append(
            {
                "token_hash": hashlib.sha256(report.token.encode()).hexdigest(),
                "token_type": report.type,
                "label": "true_positive" if key is not None else "false_positive",
            }
        )
    return feedback


def parse_reports(payload: bytes) -> list[LeakReport]:
    try:
        reports = json.loads(payload)
    except ValueError as exc:
        raise ParseFailed(f"Failed to parse the secret scanning report: {exc}") from exc
    if not isinstance(reports, list) or not 0 < len(reports) <= MAX_REPORTS:
        raise ParseFailed(f"a secret scanning report is an array of 1 to {MAX_REPORTS} objects")
    parsed = []
    for index, report in enumerate(reports):
        if not isinstance(report, dict) or not all(isinstance(report.get(name), str) for name in REPORT_FIELDS):
            raise ParseFailed(f"[{index}] must be an object with the strings [token], [type] and [url]")
        source = report.get("source")
        parsed.append(
            LeakReport(report["token"], report["type"], report["url"], source if isinstance(source, str) else "")
        )
    return parsed


def reported_key(token: str) -> ApiKey | None:
    """Our key whose secret `token` holds (encoded, `id:secret` or the bare secret), or None."""
    token = token.strip()
    try:
        key_id, secret = keys.decode(token)
    except keys.MalformedApiKey:
        key_id, _, secret = token.rpartition(":")
    if not secret or keys.fails_checksum(secret):
        return None
    if not key_id:
        if not keys.is_recognisable(secret):
            return None
        return ApiKey.objects.filter(secret_digest=keys.digest(secret)).first()
    if not keys.ID_PATTERN.fullmatch(key_id):
        return None
    key = ApiKey.objects.filter(pk=key_id).first()
    return key if key is not None and keys.verify_secret(secret, key.hash) else None


def defend(key: ApiKey, report: LeakReport, address: str | None) -> None:
    """Mark an active key leaked, invalidate it (unless only notifying), audit it and tell its owner; a key
    already reported, or no longer active, is left as it is."""
    invalidate = settings.APIKEYS_LEAK_ACTION == "invalidate"
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().select_related("owner").get(pk=key.pk)
        now = now_ms()
        if key.leaked is not None or key.status(now) != KeyStatus.ACTIVE:
            return
        key.leaked = {"url": report.url, "source": report.source, "reported": epoch_millis(now)}
        if invalidate:
            key.invalidated, key.invalidation = True, now
        key.save(update_fields=["leaked", "invalidated", "invalidation"])
        audit.record(
            audit.Action.LEAK,
            actor=SCANNER,
            key_id=key.id,
            target=key.name,
            client_address=address,
            url=report.url,
            source=report.source,
            type=report.type,
            invalidated=invalidate,
        )
        keys_written([key.id])
    log.warning("api key reported leaked id=%s url=%s invalidated=%s", key.id, report.url, invalidate)
    tell_owner(key, invalidate)


def tell_owner(key: ApiKey, invalidated: bool) -> None:
    owner = key.owner
    if not owner.email:
        log.warning("the owner of leaked api key %s has no email address", key.id)
        return
    context = {
        "owner": owner,
        "key": key,
        "invalidated": invalidated,
        "link": settings.APIKEYS_CONSOLE_URL + reverse("key_detail", args=[key.id]),
    }
    message = EmailMessage(
        f"Your API key '{key.name}' was found in public",
        render_to_string("apikeys/email/leaked.txt", context),
        to=[owner.email],
    )
    try:
        message.send()
    except Exception:  # the key is defended whatever the mail server does; the audit log has it
        log.exception("the leak notice for api key %s could not be sent", key.id)
