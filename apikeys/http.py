"""What every surface needs of HTTP: the client's address, Elasticsearch's product header, and its JSON
answers and error bodies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, JsonResponse

from .errors import ApiError

PRODUCT_HEADER = ("X-Elastic-Product", "Elasticsearch")


def client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def es_response(
    data: Any, status: int = 200, pretty: bool = False, headers: Mapping[str, str] | None = None
) -> JsonResponse:
    response = JsonResponse(
        data, status=status, safe=False, json_dumps_params={"indent": 2} if pretty else {"separators": (",", ":")}
    )
    response[PRODUCT_HEADER[0]] = PRODUCT_HEADER[1]
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def es_error_body(error: ApiError) -> dict[str, Any]:
    """`{"error": {"root_cause": [cause], **cause}, "status": N}`, as Elasticsearch answers every failure."""
    cause = {"type": error.error_type, "reason": error.reason, **error.wire_fields()}
    return {"error": {"root_cause": [cause], **cause}, "status": error.status}


def es_error(error: ApiError) -> JsonResponse:
    return es_response(es_error_body(error), error.status, headers=error.headers)
