"""The wire rules of every JSON endpoint, as Elasticsearch's: who is calling, which query parameters are
known, what a body may be, `pretty` and `filter_path`, errors as Elasticsearch error bodies, 405 and 413."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apikeys.access.authentication import authenticate
from apikeys.access.permissions import Refused
from apikeys.access.principals import Principal
from apikeys.api.refusals import refusal_error, restricted_by_workflow, worded
from apikeys.domain.errors import ApiError, ContentTooLong, MethodNotAllowed, ParseFailed, reject_unknown
from apikeys.domain.privileges.sections import restricted_to_workflows
from apikeys.infra.http import es_error, es_error_body, es_response, filter_response

COMMON_PARAMS = {"pretty", "human", "error_trace", "refresh", "filter_path"}


class Call:
    """One API request: its principal, query parameters and JSON body."""

    def __init__(self, request: HttpRequest, principal: Principal | None, allowed_params: set[str]):
        self.request = request
        self.principal = principal
        reject_unknown(
            request.GET,
            allowed_params | COMMON_PARAMS,
            f"request [{request.path}] contains unrecognized parameter: [{{}}]",
            ApiError,
        )
        texts = [request.path, *(text for key, values in request.GET.lists() for text in (key, *values))]
        if not all(storable(text) for text in texts):
            raise ApiError("the request path and parameters may not contain NUL characters")

    def param(self, name: str) -> str | None:
        return self.request.GET.get(name)

    def flag(self, name: str) -> bool:
        value = self.request.GET.get(name)
        if value is None:
            return False
        if value in ("", "true"):
            return True
        if value == "false":
            return False
        raise ApiError(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")

    def body(self, required: bool = False) -> Any:
        raw = self.request.body
        if not raw.strip():
            if required:
                raise ApiError("request body is required", error_type="parse_exception")
            return {}
        try:
            data = json.loads(raw, parse_constant=_not_a_number, parse_float=_finite)
        except ValueError as exc:  # bad JSON, bad UTF-8, or a number refused above
            raise ParseFailed(f"Failed to parse request body: {exc}") from exc
        except RecursionError as exc:
            raise _too_deep() from exc
        if not isinstance(data, dict):
            raise ParseFailed("request body must be a JSON object")
        check_body(data)
        return data


MAX_BODY_DEPTH = 100


def comma_names(value: str | None) -> list[str] | None:
    """A path part naming one or more things, comma-separated (`a,b`), as names; None when the path has none."""
    return [name for name in value.split(",") if name] if value else None


def _not_a_number(word: str) -> NoReturn:
    raise ValueError(f"[{word}] is not a JSON number")


def _finite(text: str) -> float:
    """JSON numbers only: no column stores an infinity, and `1e400` would be one."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number [{text}] is out of range")
    return number


def storable(text: str) -> bool:
    """Whether a text column can hold `text`: PostgreSQL refuses NUL, and UTF-8 has no unpaired surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _too_deep() -> ParseFailed:
    return ParseFailed(
        f"Failed to parse request body: nesting depth exceeds the maximum allowed depth [{MAX_BODY_DEPTH}]"
    )


def check_body(data: Any) -> None:
    """Refuse a body that no column can store or that nests deeper than every caller may recurse. Walked
    with a stack, not recursion, so a deep body cannot exhaust the interpreter's stack here either."""
    todo = [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_BODY_DEPTH:
                raise _too_deep()
            items = [*value, *value.values()] if isinstance(value, dict) else value
            todo.extend((item, depth + 1) for item in items)
        elif isinstance(value, str) and not storable(value):
            raise ParseFailed(
                "Failed to parse request body: strings may not contain NUL characters or unpaired surrogates"
            )


Handler = Callable[..., Any]


def method_not_allowed(request: HttpRequest, allowed: Iterable[str]) -> JsonResponse:
    """405, in Elasticsearch's words, naming the methods the path takes."""
    methods = ",".join(sorted(allowed))
    return es_error(
        MethodNotAllowed(
            f"Incorrect HTTP method for uri [{request.path}] and method [{request.method}], allowed: [{methods}]",
            headers={"Allow": methods},
        )
    )


def endpoint(params: dict[str, set[str]] | None = None, anonymous: bool = False, **handlers: Handler):
    """A view dispatching on method to `handler(call, **url_kwargs)`, with the ES wire rules around it.
    `anonymous`: the handler itself tells who is calling (a signed report), `call.principal` is None."""
    params = params or {}

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> JsonResponse:
        pretty = request.GET.get("pretty") in ("", "true")  # `?pretty` and `?pretty=true`, as Elasticsearch
        handler = handlers.get(request.method)
        if handler is None:
            return method_not_allowed(request, handlers)
        filter_path = request.GET.get("filter_path")
        try:
            try:
                request.body  # noqa: B018 - reading it enforces the size limit before anything else
            except RequestDataTooBig as exc:
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                raise ContentTooLong(f"request body is larger than the limit of [{limit}] bytes") from exc
            principal = None if anonymous else authenticate(request)
            if principal and principal.api_key and restricted_to_workflows(principal.api_key.role_descriptors):
                raise restricted_by_workflow()
            call = Call(request, principal, params.get(request.method, set()))
            call.flag("pretty")  # a value other than true or false is refused
            try:
                result = handler(call, **kwargs)
            except Refused as refused:
                raise refusal_error(refused, principal) from refused
        except ApiError as refused:
            error = worded(refused)
            data, status, headers = es_error_body(error), error.status, error.headers
        else:
            (data, status), headers = (result if isinstance(result, tuple) else (result, 200)), {}
        if filter_path:
            data = filter_response(data, filter_path)
        return es_response(data, status, pretty, headers)

    return view
