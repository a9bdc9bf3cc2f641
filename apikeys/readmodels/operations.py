"""What the estate holds, as a metrics scrape reports it: keys by status and type, those expiring soon, when the
retention purge last finished, the webhook's backlog, whether the shared cache answers.

Counting the keys by status reads the whole table (one statement: 100,000 keys take tens of milliseconds), so it
is done at most every `APIKEYS_METRICS_STATE_SECONDS` and the answer kept in the shared cache: the scrapes in
between, whichever worker answers them, read one cache entry. The other figures are one indexed read each."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count

from apikeys.domain import durations
from apikeys.domain.key_rules import KeyStatus, expiring_soon
from apikeys.infra import caching, metrics
from apikeys.infra.outages import is_outage
from apikeys.models import ApiKey, AuditOutbox, Heartbeat, KeyType
from apikeys.records import usage


def key_counts() -> tuple[dict[tuple[str, str], int], int]:
    """((status, type) -> keys, every pair present; active keys expiring soon), in one read of the table."""
    now = durations.now()
    per_status = {f"n_{status.value}": Count("pk", filter=status.q(now)) for status in KeyStatus}
    rows = (
        ApiKey.objects.order_by()
        .values("type")
        .annotate(**per_status, n_soon=Count("pk", filter=expiring_soon().q(now)))
    )
    counts = {(status.value, kind.value): 0 for status in KeyStatus for kind in KeyType}
    soon = 0
    for row in rows:
        for status in KeyStatus:
            counts[(status.value, row["type"])] = row[f"n_{status.value}"]
        soon += row["n_soon"]
    return counts, soon


def snapshot() -> metrics.State:
    """The estate now (key counts at most `APIKEYS_METRICS_STATE_SECONDS` old). While the database is away, only
    what needs none of it, and the outage counted."""
    usage.held()  # this process's backlog exactly (the others' as they last published it)
    cache_up = caching.shared_cache_state() != "down"
    try:
        keys, soon = caching.remembered(caching.METRICS_STATE, settings.APIKEYS_METRICS_STATE_SECONDS, key_counts)
        purged = Heartbeat.objects.filter(name=Heartbeat.PURGE).values_list("at", flat=True).first()
        backlog = AuditOutbox.objects.count() if settings.APIKEYS_AUDIT_WEBHOOK_URL else None
    except DatabaseError as error:
        if not is_outage(error):
            raise
        metrics.database_unavailable()
        return metrics.State(cache_available=cache_up)
    return metrics.State(
        cache_available=cache_up,
        keys=keys,
        expiring_soon=soon,
        purge_last_success=purged.timestamp() if purged else None,
        audit_backlog=backlog,
    )
