"""Figure 1c: what the operator's view costs a request: Prometheus metrics (multiprocess mode, as under gunicorn)
and the JSON log's line per request, on against off, for a warm verified `GET /_security/_authenticate`.

On: the app as configured for this figure (`LOG_FORMAT=json`, `PROMETHEUS_MULTIPROC_DIR` set by `benchmarks.run`):
the request middleware (request id, the request counter and histogram, one JSON line to standard error, which the
run sends to a file) and the authentication and usage-backlog counts. Off: the same stack without the middleware,
and those counts replaced by no-ops: the app before issue 21. One request of each per round, in one process.

Run by `benchmarks.run` (through `benchmarks.launch`) with DATABASE_URL naming a throwaway database, which this
module migrates.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.test import override_settings

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.domain.privileges import validate_role_descriptor
from apikeys.infra import metrics
from apikeys.models import Role, User
from benchmarks import measure

AUTHENTICATE = "/_security/_authenticate"
TARGET = 1.10
# Two sides that differ by microseconds: many rounds, so that the median ratio settles.
BUDGET_SECONDS = 4.0
MIDDLEWARE = "apikeys.infra.request_log.RequestMiddleware"


def without_operations(call: Callable[[], None]) -> Callable[[], None]:
    """`call` with the authentication and usage-backlog counts as no-ops, for this request only (both are looked up
    on `apikeys.infra.metrics` at each request, so the swap takes effect at once)."""
    counted, backlog = metrics.authenticated, metrics.usage_backlog

    def uncounted(*args: object, **kwargs: object) -> None:
        pass

    def run() -> None:
        metrics.authenticated = metrics.usage_backlog = uncounted
        try:
            call()
        finally:
            metrics.authenticated, metrics.usage_backlog = counted, backlog

    return run


def main() -> None:
    assert settings.LOG_FORMAT == "json" and settings.PROMETHEUS_MULTIPROC_DIR, "run by benchmarks.run"
    assert MIDDLEWARE in settings.MIDDLEWARE
    call_command("migrate", verbosity=0, interactive=False)
    role = Role.objects.create(
        name="bench_key_owner",
        descriptor=validate_role_descriptor("bench_key_owner", {"cluster": ["manage_own_api_key"]}),
    )
    owner = User.objects.create_user("bench-owner", role_names=[role.name])
    created = services.create_api_key(Principal.for_user(owner), {"name": "bench-operations"})
    headers = {"Authorization": f"ApiKey {created.encoded}"}

    on = measure.expecting(measure.WsgiCaller(WSGIHandler()), 200, AUTHENTICATE, headers)
    with override_settings(MIDDLEWARE=[name for name in settings.MIDDLEWARE if name != MIDDLEWARE]):
        off = without_operations(measure.expecting(measure.WsgiCaller(WSGIHandler()), 200, AUTHENTICATE, headers))

    backend = measure.backend_label()
    measured = measure.side_by_side(measure.timed(on), measure.timed(off), budget_seconds=BUDGET_SECONDS)
    case = "ssha256 verified 200: metrics + JSON request log on vs off"
    outcome = measure.record(measure.Outcome("1c", backend, case, measured.ratio, TARGET))
    measure.heading(f"Figure 1c — the operator's view on vs off, warm verification, in-process WSGI ({backend})")
    measure.table(
        ["A vs B", "A ms", "B ms", "A / B", "target", "result", "rounds"],
        [
            [
                case,
                measure.ms(measured.a_median),
                measure.ms(measured.b_median),
                measure.ratio(measured.ratio),
                f"≤ {TARGET:g}×",
                outcome.verdict,
                measured.rounds,
            ]
        ],
    )
    measure.note(
        "On: the request middleware (request id, `apikeys_http_requests_total` and its histogram, one JSON line per "
        "request written to the log file) and the authentication and usage-backlog counts, with prometheus-client "
        "in multiprocess mode (its counts written to files in `PROMETHEUS_MULTIPROC_DIR`, as under gunicorn). Off: "
        "no middleware, those counts no-ops. Same key, same warm path, one request of each per round."
    )
