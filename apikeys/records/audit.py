"""The audit log: every change to keys, roles and users, and every failed authentication. Written in the
same transaction as the change it records, so neither exists without the other. Never holds a secret.

Failed authentications are counted, not written one by one: one event per client address per window
(`APIKEYS_AUTH_FAILURE_WINDOW_SECONDS`) carries how many failed, and once more than `FLOOD_CLIENTS`
addresses fail in one window the newcomers share a single event. A flood of bad keys from many addresses
therefore writes a few rows, not one per guess.

While a webhook is configured (`APIKEYS_AUDIT_WEBHOOK_URL`), each event also gets an outbox row in the same
transaction (`AuditOutbox`): the sender (`records.audit_delivery`) sends what the outbox holds and deletes what
the receiver took, so an event is sent if and only if it was committed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apikeys.infra import caching
from apikeys.models import AuditEvent, AuditOutbox

log = logging.getLogger(__name__)
# Addresses failing in one window before those that come next share one event.
FLOOD_CLIENTS = 50
# Cache scopes: every failure of a window, and the event that counts them once clients are too many.
ALL_FAILURES = "all"
FLOOD = "flood"
# A failure event's count is written at these counts: 1, 2, 4, ... 512, then every 1,000th.
EXACT_UP_TO = 1024

Action = AuditEvent.Action
COLUMNS = ["timestamp", "action", "actor", "key_id", "target", "client_address", "details"]
# An event as the export and the webhook give it (`document`); `id` is stable, for receivers to drop repeats.
DOCUMENT_FIELDS = ("id", "timestamp", "action", "actor", "key_id", "target", "client_address", "count", "details")
# Set when this process commits outbox rows, so that its sender need not wait for its next look.
outbox_filled = threading.Event()


def document(row: dict[str, Any]) -> dict[str, Any]:
    """An event read with `.values(*DOCUMENT_FIELDS)`, its time in ISO 8601 (UTC, microseconds)."""
    return {**row, "timestamp": row["timestamp"].isoformat().replace("+00:00", "Z")}


def webhook_configured() -> bool:
    return bool(settings.APIKEYS_AUDIT_WEBHOOK_URL)


def _queue(event_ids: list[int]) -> None:
    AuditOutbox.objects.bulk_create([AuditOutbox(event_id=event_id) for event_id in event_ids], batch_size=1000)
    transaction.on_commit(outbox_filled.set)


def _create(**fields: Any) -> AuditEvent:
    """One event, and its outbox row in the same transaction while a webhook is configured."""
    if not webhook_configured():
        return AuditEvent.objects.create(**fields)
    with transaction.atomic():
        event = AuditEvent.objects.create(**fields)
        _queue([event.pk])
    return event


def record(
    action: str,
    actor: str = "",
    key_id: str = "",
    target: str = "",
    client_address: str | None = None,
    **details: Any,
) -> None:
    _create(
        action=action,
        actor=actor[:150],
        key_id=key_id[:64],
        target=target[:512],
        client_address=client_address,
        details=details,
    )


def record_many(action: str, actor: str, keys: Iterable[tuple[str, str]], client_address: str | None = None) -> None:
    """One event per (key id, key name), written set-based: invalidating 10,000 keys stays one quick step
    (PostgreSQL: COPY, a quarter of the time of multi-row INSERTs; elsewhere multi-row INSERTs). While a webhook is
    configured the events' ids are needed for their outbox rows: the ORM's INSERT ... RETURNING, in batches."""
    moment = timezone.now()
    if webhook_configured():
        events = [
            AuditEvent(
                timestamp=moment,
                action=action,
                actor=actor[:150],
                key_id=key_id,
                target=name[:512],
                client_address=client_address,
            )
            for key_id, name in keys
        ]
        with transaction.atomic():
            _queue([event.pk for event in AuditEvent.objects.bulk_create(events, batch_size=500)])
        return
    if connection.vendor != "postgresql":  # COPY adapts datetimes itself; the INSERTs' parameters need it done
        moment = connection.ops.adapt_datetimefield_value(moment)
    rows = [(moment, action, actor[:150], key_id, name[:512], client_address, "{}") for key_id, name in keys]
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg's COPY, under Django's error translation (DatabaseError, IntegrityError, ...).
            copying = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"
            with connection.wrap_database_errors, cursor.cursor.copy(copying) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table} ({', '.join(COLUMNS)})"
        per_statement = 500
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = ", ".join(["(" + ", ".join(["%s"] * len(COLUMNS)) + ")"] * len(chunk))
            cursor.execute(f"{sql} VALUES {values}", [value for row in chunk for value in row])


def _count_is_written(count: int) -> bool:
    return count & (count - 1) == 0 if count <= EXACT_UP_TO else count % 1000 == 0


@dataclass(frozen=True)
class FailureCounts:
    """A failed authentication's place in this window: the `client`'s `failures`th, everyone's `all`th, and
    the audit events already counting them (ids, or None)."""

    client: str | None
    failures: int
    all: int
    client_event: int | None
    flood_event: int | None


def record_failure(counts: FailureCounts, actor: str, key_id: str, reason: str, path: str) -> None:
    """Audit a failed authentication. The counts are atomic, so exactly one request makes each event: a
    client's first failure makes its event, later ones raise its count now and then (`_count_is_written`).
    The client that is the window's `FLOOD_CLIENTS + 1`th to fail makes the shared event, which then counts
    every failure of the window; clients failing after it count only there. A write the database cannot take
    is dropped with a warning: the caller is refused all the same."""
    window = settings.APIKEYS_AUTH_FAILURE_WINDOW_SECONDS
    scope, count, event_id = f"client:{counts.client}", counts.failures, counts.client_event
    flood = False
    if counts.failures == 1:
        (failing,), _ = caching.count_in_window("failing-clients", window=window)
        flood = failing > FLOOD_CLIENTS
        if flood and failing > FLOOD_CLIENTS + 1:
            count = 2  # the shared event exists (or is being made): only raise its count
    else:
        flood = event_id is None
    if flood:
        scope, event_id = FLOOD, counts.flood_event
        count = 1 if count == 1 else max(counts.all, 2)
    try:
        if count == 1:
            details = {"reason": reason, "path": path}
            if flood:
                details["reason"] = (
                    "many clients failing at once (counting every failure of the window); first: " + reason
                )
            event = _create(
                action=Action.AUTH_FAILURE,
                actor=actor[:150],
                key_id=key_id[:64],
                client_address=None if flood else counts.client,
                count=counts.all if flood else 1,
                details=details,
            )
            caching.remember_in_window(scope, window, event.pk)
        elif _count_is_written(count) and event_id is not None:
            AuditEvent.objects.filter(pk=event_id, count__lt=count).update(count=count)
    except DatabaseError as error:
        log.warning("failed authentication not audited (%s: %s)", type(error).__name__, str(error).strip()[:200])
