"""The audit log: every change to keys, roles and users, and every failed authentication. Written in the
same transaction as the change it records, so neither exists without the other. Never holds a secret."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.utils import timezone

from .models import AuditEvent

Action = AuditEvent.Action
COLUMNS = ["timestamp", "action", "actor", "key_id", "target", "client_address", "details"]


def record(
    action: str,
    actor: str = "",
    key_id: str = "",
    target: str = "",
    client_address: str | None = None,
    **details: Any,
) -> None:
    AuditEvent.objects.create(
        action=action,
        actor=actor[:150],
        key_id=key_id[:64],
        target=target[:512],
        client_address=client_address,
        details=details,
    )


def record_many(action: str, actor: str, keys: Iterable[tuple[str, str]], client_address: str | None = None) -> None:
    """One event per (key id, key name), written set-based: invalidating 10,000 keys stays one quick step
    (PostgreSQL: COPY, a quarter of the time of multi-row INSERTs; elsewhere multi-row INSERTs)."""
    moment = timezone.now()
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
