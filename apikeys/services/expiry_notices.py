"""Telling owners what is about to expire: one email per owner listing their active keys that expire within
the window, each with a link to its page to roll it. A key is mentioned once per expiration (`expiry_notified`),
however often cron runs; an owner without an email address is skipped (and counted), and told once they have
one."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from apikeys.domain.key_rules import expiring_soon
from apikeys.models import ApiKey, User

log = logging.getLogger(__name__)


@dataclass
class NoticeReport:
    digests: int = 0
    keys: int = 0
    owners_without_email: int = 0
    keys_of_owners_without_email: int = 0
    failed_owners: int = 0


def keys_to_mention(days: int, now: datetime):
    """Active keys expiring within `days` whose owner has not been told about this expiration."""
    not_told = Q(expiry_notified__isnull=True) | ~Q(expiry_notified=F("expiration"))
    return ApiKey.objects.filter(expiring_soon(days).q(now), not_told, owner__is_active=True)


def notify_expiring_keys(days: int | None = None, base_url: str | None = None) -> NoticeReport:
    days = settings.APIKEYS_EXPIRING_SOON_DAYS if days is None else days
    base_url = (base_url or settings.APIKEYS_CONSOLE_URL).rstrip("/")
    now = timezone.now()
    by_owner: dict[int, list[ApiKey]] = defaultdict(list)
    for key in keys_to_mention(days, now).order_by("owner_id", "expiration", "id"):
        by_owner[key.owner_id].append(key)
    owners = User.objects.in_bulk(list(by_owner))
    report = NoticeReport()
    with get_connection() as connection:
        for owner_id, owned in by_owner.items():
            owner = owners[owner_id]
            if not owner.email:
                report.owners_without_email += 1
                report.keys_of_owners_without_email += len(owned)
                continue
            message = _digest(owner, owned, days, base_url, now)
            message.connection = connection
            try:
                message.send()
            except Exception:  # one owner's mail server trouble must not keep the others from being told
                log.exception("expiry digest to %s could not be sent", owner.username)
                report.failed_owners += 1
                continue
            # Told about these expirations: an expiration changed meanwhile is told about on the next run.
            told = Q(pk__in=[])
            for key in owned:
                told |= Q(pk=key.pk, expiration=key.expiration)
            ApiKey.objects.filter(told).update(expiry_notified=F("expiration"))
            report.digests += 1
            report.keys += len(owned)
    return report


def _digest(owner: User, owned: list[ApiKey], days: int, base_url: str, now: datetime) -> EmailMessage:
    context = {
        "owner": owner,
        "days": days,
        "keys": [(key, base_url + reverse("key_detail", args=[key.id])) for key in owned],
        "now": now,
    }
    count = len(owned)
    subject = (
        f"{count} API key{'s' if count != 1 else ''} of yours expire{'s' if count == 1 else ''} "
        f"within {days} day{'s' if days != 1 else ''}"
    )
    body = render_to_string("apikeys/email/expiring.txt", context)
    return EmailMessage(subject, body, to=[owner.email])
