"""Audit events sent to a webhook as they happen, none lost: the sender of the outbox `records.audit` fills.

The receiver gets `POST APIKEYS_AUDIT_WEBHOOK_URL` with `{"events": [...]}` (each event as the export's NDJSON
line, `audit.document`), oldest first, at most `APIKEYS_AUDIT_WEBHOOK_BATCH` a request, signed: the header
`X-Apikeys-Signature: sha256=<hex>` is the HMAC-SHA256 of the body with `APIKEYS_AUDIT_WEBHOOK_SECRET`. A 2xx takes
the batch (its outbox rows are deleted); anything else, or no answer within `APIKEYS_AUDIT_WEBHOOK_TIMEOUT_SECONDS`,
and the same batch is sent again after `APIKEYS_AUDIT_WEBHOOK_RETRY_SECONDS`, doubling up to five minutes.

At least once: a sender killed after the receiver took a batch, before it deleted the rows, leaves them for the
next sender to send again, so receivers drop repeats by the events' `id`. In order: one batch at a time across
every sender (PostgreSQL's advisory lock, held by the batch's transaction; on SQLite a file lock beside the
database), oldest id first, so no batch leaves before the one before it was taken. (On PostgreSQL two changes
committing at the same instant may commit their ids out of order: an event passed over while uncommitted leaves
with a later batch.)

Who sends: every gunicorn worker runs a sender thread (`start_sender`, from `config/gunicorn.py`), the lock letting
one send at a time, so the outbox drains while any worker lives; or `manage.py deliver_audit_events`, in a loop or
once (cron).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction

from apikeys.models import AuditEvent, AuditOutbox
from apikeys.records import audit

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Apikeys-Signature"
RETRY_CAP_SECONDS = 300.0
# How often an idle sender looks for events other processes wrote (its own process's wake it at once).
IDLE_SECONDS = 1.0
# PostgreSQL advisory lock key: one sender at a time ("apikeys audit webhook", arbitrary but fixed).
LOCK_KEY = 0x61706B77


class DeliveryFailed(Exception):
    """The receiver did not take a batch: it answered other than 2xx, or not at all."""


def signature(body: bytes) -> str:
    return "sha256=" + hmac.new(settings.APIKEYS_AUDIT_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


def backlog() -> tuple[int, datetime | None]:
    """How many events wait to be sent, and when the oldest of them happened."""
    waiting = AuditOutbox.objects.count()
    oldest = AuditOutbox.objects.order_by("event_id").values_list("event__timestamp", flat=True).first()
    return waiting, oldest


@contextmanager
def _one_sender() -> Iterator[bool]:
    """Whether this sender holds the lock now (for the body of the `with`), never waiting for it."""
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
            yield cursor.fetchone()[0]
        return
    with open(f"{connection.settings_dict['NAME']}.audit-sender.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True  # closing the file (or the process dying) lets go


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs) -> None:
        return None  # a redirected POST would arrive as a GET without the events: a failure, not a delivery


_opener = urllib.request.build_opener(_NoRedirects)


def _post(body: bytes) -> None:
    request = urllib.request.Request(
        settings.APIKEYS_AUDIT_WEBHOOK_URL,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature(body)},
    )
    try:
        with _opener.open(request, timeout=settings.APIKEYS_AUDIT_WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise DeliveryFailed(f"the receiver answered {error.code}") from error
    except (urllib.error.URLError, OSError) as error:  # refused, reset, timed out
        raise DeliveryFailed(f"the receiver did not answer ({error})") from error


def deliver_batch() -> int | None:
    """Send the oldest waiting events, one batch, and forget them once taken: how many (0: none waited), or None
    when another sender is at it. DeliveryFailed when the receiver did not take them (they wait on)."""
    with _one_sender() as mine:
        if not mine:
            return None
        outbox = AuditOutbox.objects.order_by("event_id").values_list("event_id", flat=True)
        ids = list(outbox[: settings.APIKEYS_AUDIT_WEBHOOK_BATCH])
        if not ids:
            return 0
        rows = AuditEvent.objects.filter(pk__in=ids).order_by("id").values(*audit.DOCUMENT_FIELDS)
        body = json.dumps({"events": [audit.document(row) for row in rows]}, separators=(",", ":")).encode()
        _post(body)
        AuditOutbox.objects.filter(event_id__in=ids).delete()
        return len(ids)


def run(stop: threading.Event, once: bool = False) -> int:
    """Send until `stop` is set (`once`: until nothing waits, raising the first failure); the events sent. After
    a failure the same batch is tried again, waiting longer each time."""
    sent, failures = 0, 0
    while not stop.is_set():
        close_old_connections()  # as a request would: a connection the database dropped (or too old) is replaced
        audit.outbox_filled.clear()
        try:
            count = deliver_batch()
        except (DeliveryFailed, DatabaseError) as error:
            if once:
                raise
            failures += 1
            delay = min(RETRY_CAP_SECONDS, settings.APIKEYS_AUDIT_WEBHOOK_RETRY_SECONDS * 2 ** (failures - 1))
            log.warning("audit webhook: %s; retrying in %.2f s (attempt %d)", error, delay, failures + 1)
            stop.wait(delay)
            continue
        if failures:
            log.warning("audit webhook: delivering again after %d failed attempts", failures)
            failures = 0
        if count:
            sent += count
        elif count == 0 and once:
            return sent
        else:
            audit.outbox_filled.wait(IDLE_SECONDS)
    return sent


def start_sender() -> threading.Thread | None:
    """A sender thread in this process (a gunicorn worker's), while a webhook is configured."""
    if not audit.webhook_configured():
        return None
    thread = threading.Thread(target=_send_forever, name="apikeys-audit-webhook", daemon=True)
    thread.start()
    return thread


def _send_forever() -> None:
    stop = threading.Event()
    while True:
        try:
            run(stop)
        except Exception:  # a bug must not end delivery for the worker's life: say so, go on
            log.exception("audit webhook sender failed; starting again")
            stop.wait(IDLE_SECONDS)
