"""The Elasticsearch-compatible JSON API: parse, call one service or query, render. The contract is
`shared/spec/API.md` beside this repository, with Elasticsearch's own docs as the tie-breaker; every path is
described at /openapi.json. `wire` (the rules around every endpoint), `keys`, `users`, `security`."""

from django.http import HttpRequest, JsonResponse

from apikeys.api.openapi import build_document
from apikeys.api.wire import COMMON_PARAMS, endpoint


def openapi_view(request: HttpRequest) -> JsonResponse:
    """The OpenAPI document of this API: public, outside `endpoint`, since describing the API needs no login."""
    return JsonResponse(build_document())


__all__ = ["COMMON_PARAMS", "endpoint", "openapi_view"]
