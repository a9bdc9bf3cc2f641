"""The operators' endpoints: `GET /metrics` for Prometheus, `GET /healthz` and `GET /readyz` for orchestrators.

`/metrics` admits a caller of the JSON API (`ApiKey`, `Basic` or `Bearer`, authenticated and counted as every API
request is) holding the cluster privilege `monitor` (`manage` and `all` hold it), or `Authorization: Bearer` the
token set in `APIKEYS_METRICS_TOKEN` (compared in constant time; no database read). Refusals are Elasticsearch
error bodies, as every API refusal.

Neither health check needs credentials, and neither says more than it must: `/healthz` answers from the process
alone (no I/O); `/readyz` asks the database (within `APIKEYS_READY_TIMEOUT_SECONDS`: 503 when it does not
answer) and reports the shared cache without depending on it (the app answers from the database while Redis is
away, so it is still ready).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apikeys.access.authentication import authenticate
from apikeys.api.refusals import worded
from apikeys.api.wire import method_not_allowed
from apikeys.domain.errors import ApiError
from apikeys.domain.privileges.actions import METRICS_READ
from apikeys.infra import caching, metrics, outages
from apikeys.infra.http import es_error
from apikeys.readmodels import operations

GET = ("GET",)


def _holds_metrics_token(request: HttpRequest) -> bool:
    token = settings.APIKEYS_METRICS_TOKEN
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    return (
        bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), token.encode())
    )


@csrf_exempt
def metrics_view(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return method_not_allowed(request, GET)
    if not _holds_metrics_token(request):
        try:
            authenticate(request).require(METRICS_READ)
        except ApiError as error:
            return es_error(worded(error))
    return HttpResponse(metrics.exposition(operations.snapshot()), content_type=metrics.CONTENT_TYPE)


@csrf_exempt
def healthz_view(request: HttpRequest) -> JsonResponse:
    if request.method != "GET":
        return method_not_allowed(request, GET)
    return JsonResponse({"status": "ok"})


@csrf_exempt
def readyz_view(request: HttpRequest) -> JsonResponse:
    if request.method != "GET":
        return method_not_allowed(request, GET)
    ready = outages.database_answers(settings.APIKEYS_READY_TIMEOUT_SECONDS)
    body = {
        "status": "ready" if ready else "unavailable",
        "database": "up" if ready else "down",
        "cache": caching.shared_cache_state(),
    }
    return JsonResponse(body, status=200 if ready else 503)
