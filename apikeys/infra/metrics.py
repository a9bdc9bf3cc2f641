"""Prometheus metrics (`GET /metrics`): what requests, authentications and outages add, and the scrape's answer.

Under gunicorn every worker writes its counts into files of `PROMETHEUS_MULTIPROC_DIR` (prometheus-client's
multiprocess mode; `config/gunicorn.py` makes and empties that folder and forgets a dead worker's gauges), and a
scrape, whichever worker answers it, adds them all up. Without that variable (`make run`, the tests) the counts
live in this process. Counting costs a request a few microseconds (a look-up and a write to a mapped file under
a lock), no I/O.

Labels take their values from small fixed sets: route patterns and names, never a path, a key id or a user name.
What the estate holds (keys by status, the purge's last success, the webhook's backlog) is not counted here but
read when scraped (`State`, from `readmodels.operations`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import REGISTRY, Collector

# Prometheus' text format 0.0.4, which every Prometheus version reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# `credential`: the scheme of the Authorization header; `none` when there was none (or an unknown one).
CREDENTIALS = {"apikey": "api_key", "basic": "basic", "bearer": "bearer"}
NO_CREDENTIAL = "none"
# Refusal reasons beside usage's (`records.usage.Refusal`, for keys that exist): what only the metric tells apart.
UNKNOWN_ID = "unknown_id"
WRONG_USER_OR_PASSWORD = "wrong_user_or_password"  # unknown user, wrong password, disabled user: answered alike
INVALID_TOKEN = "invalid_token"  # unknown, expired or invalidated bearer token, or its user disabled
MALFORMED = "malformed"  # a header that does not decode
MISSING_CREDENTIALS = "missing_credentials"  # no Authorization header, or a scheme the API does not know

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
# Seconds: a warm authenticate takes about a millisecond, the console's pages ten, a 10,000-key invalidation one.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

AUTHENTICATIONS = Counter(
    "apikeys_authentications",
    "JSON API authentications, by credential, outcome and, when refused, why.",
    ["credential", "outcome", "reason"],
)
HTTP_REQUESTS = Counter(
    "apikeys_http_requests",
    "Requests answered, by surface, endpoint (route name or pattern), method and status.",
    ["surface", "endpoint", "method", "status"],
)
HTTP_DURATION = Histogram(
    "apikeys_http_request_duration_seconds",
    "Time to answer a request, by surface, endpoint and method.",
    ["surface", "endpoint", "method"],
    buckets=DURATION_BUCKETS,
)
DATABASE_UNAVAILABLE = Counter(
    "apikeys_database_unavailable",
    "Requests and scrapes that met the database away (answered 503, or reported without its figures).",
)
USAGE_BACKLOG = Gauge(
    "apikeys_usage_flush_backlog",
    "Usage counts held in memory, waiting to be written to the database.",
    multiprocess_mode="livesum",
)

# The Authorization header's outcome, kept on the request for its log line: (credential, key id, username).
CALLER_ATTRIBUTE = "apikeys_caller"
# The usage backlog is published at most this often (and exactly at each flush and scrape): a request pays for a
# write to the shared file only now and then.
BACKLOG_EVERY_SECONDS = 1.0

_children: dict[tuple[int, tuple[str, ...]], Any] = {}
_backlog_published = {"at": -BACKLOG_EVERY_SECONDS}


def _child(metric: Counter | Histogram, *labels: str) -> Any:
    """`metric.labels(*labels)`, remembered: prometheus-client checks and converts them on every call, which cost a
    request more than the count itself. The label sets are few (see above)."""
    key = (id(metric), labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def authenticated(request: HttpRequest, scheme: str, key_id: str, username: str, reason: str = "") -> None:
    """Count one authentication of the JSON API (`reason` empty: it succeeded) and keep who called for the log."""
    credential = CREDENTIALS.get(scheme, NO_CREDENTIAL)
    _child(AUTHENTICATIONS, credential, "refused" if reason else "success", str(reason)).inc()
    setattr(request, CALLER_ATTRIBUTE, (credential, key_id, username))


def database_unavailable() -> None:
    DATABASE_UNAVAILABLE.inc()


def request_answered(surface: str, endpoint: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"  # a method is whatever the client sends
    _child(HTTP_REQUESTS, surface, endpoint, method, str(status)).inc()
    _child(HTTP_DURATION, surface, endpoint, method).observe(seconds)


def usage_backlog(held: int, at_once: bool = False) -> None:
    """This process's usage counts not yet written: published now if `at_once`, else if a second has passed."""
    moment = time.monotonic()
    if at_once or moment - _backlog_published["at"] >= BACKLOG_EVERY_SECONDS:
        _backlog_published["at"] = moment
        USAGE_BACKLOG.set(held)


# --- What a scrape reads -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """The estate as a scrape reports it; None where the database could not tell (left out of the answer)."""

    cache_available: bool
    keys: dict[tuple[str, str], int] | None = None  # (status, type) -> how many
    expiring_soon: int | None = None
    purge_last_success: float | None = None  # epoch seconds
    audit_backlog: int | None = None  # None also when no webhook is configured

    def collect(self) -> Iterator[Metric]:
        yield _gauge(
            "apikeys_cache_available",
            "1 when the shared cache answers (always, without Redis).",
            [((), int(self.cache_available))],
        )
        if self.keys is not None:
            rows = [((status, kind), n) for (status, kind), n in sorted(self.keys.items())]
            yield _gauge("apikeys_keys", "API keys by status and type.", rows, ["status", "type"])
        if self.expiring_soon is not None:
            yield _gauge(
                "apikeys_keys_expiring_soon",
                "Active keys expiring within the warning window.",
                [((), self.expiring_soon)],
            )
        if self.purge_last_success is not None:
            yield _gauge(
                "apikeys_purge_last_success_timestamp_seconds",
                "When the retention purge last finished (epoch seconds).",
                [((), self.purge_last_success)],
            )
        if self.audit_backlog is not None:
            yield _gauge(
                "apikeys_audit_webhook_backlog",
                "Audit events waiting to be sent to the webhook.",
                [((), self.audit_backlog)],
            )


def _gauge(name: str, documentation: str, rows: Iterable[tuple[tuple[str, ...], float]], labels=()) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    for values, value in rows:
        family.add_metric(list(values), value)
    return family


class _Chain:
    def __init__(self, *collectors: Collector) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def exposition(state: State) -> bytes:
    """The scrape's answer: every worker's counts added up (or this process's), the process and Python
    collectors of the process answering, and the estate."""
    folder = settings.PROMETHEUS_MULTIPROC_DIR
    if not folder:
        return generate_latest(_Chain(REGISTRY, state))
    workers = CollectorRegistry()
    multiprocess.MultiProcessCollector(workers, path=folder)
    ProcessCollector(registry=workers)
    PlatformCollector(registry=workers)
    GCCollector(registry=workers)
    return generate_latest(_Chain(workers, state))
