"""Wire rules for every `/_security` response, including the ones Django answers itself (no route)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apikeys.domain.errors import ApiError
from apikeys.infra.http import PRODUCT_HEADER, es_error


class ElasticsearchWireMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/_security"):
            return response
        if response.status_code == 404 and not response.get("Content-Type", "").startswith("application/json"):
            response = es_error(ApiError(f"no handler found for uri [{request.path}] and method [{request.method}]"))
        response[PRODUCT_HEADER[0]] = PRODUCT_HEADER[1]
        return response
