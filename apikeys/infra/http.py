"""What every surface needs of HTTP: the client's address, Elasticsearch's product header, and its JSON
answers and error bodies."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from apikeys.domain.errors import ApiError

PRODUCT_HEADER = ("X-Elastic-Product", "Elasticsearch")


def client_address(request: HttpRequest) -> str | None:
    """Who is calling: the socket's peer, unless it is one of `APIKEYS_TRUSTED_PROXIES`; then `X-Forwarded-For`
    read right to left, each hop believed only while the one after it is trusted. The first hop not trusted
    is the client (the leftmost if all are); a hop that is not an address ends the walk at the one before it.
    An untrusted peer's `X-Forwarded-For` is never read: anyone can write one."""
    client = request.META.get("REMOTE_ADDR") or None
    trusted = settings.APIKEYS_TRUSTED_PROXIES
    if not trusted or client is None:
        return client
    for hop in reversed(request.headers.get("X-Forwarded-For", "").split(",")):
        if not _within(client, trusted):
            break
        try:
            client = str(ipaddress.ip_address(hop.strip()))
        except ValueError:
            break
    return client


def _within(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


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
    """`{"error": {"root_cause": [cause], **cause}, "status": N}`, as Elasticsearch answers every failure (but
    the token endpoint's, which answer in OAuth2's shape)."""
    if (body := error.wire_body()) is not None:
        return body
    cause = {"type": error.error_type, "reason": error.reason, **error.wire_fields()}
    body = {"root_cause": [cause], **cause}
    if error.caused_by is not None:
        body["caused_by"] = {"type": error.caused_by.error_type, "reason": error.caused_by.reason}
    return {"error": body, "status": error.status}


def es_error(error: ApiError) -> JsonResponse:
    return es_response(es_error_body(error), error.status, headers=error.headers)


# --- filter_path: the parts of an answer a caller asked for ---------------------------------------------------

_LEFT_OUT = object()


def filter_response(data: Any, filter_path: str) -> Any:
    """`data` cut down as Elasticsearch's `filter_path` asks: comma-separated dotted paths whose names may hold
    `*` wildcards, `**` for any number of levels, and `-` in front for a path to leave out. Arrays are looked
    through. Nothing left is `{}`."""
    paths = [path.strip() for path in filter_path.split(",") if path.strip()]
    included = [path.split(".") for path in paths if not path.startswith("-")]
    excluded = [path[1:].split(".") for path in paths if path.startswith("-")]
    if included:
        data = _keep(data, included)
    if excluded and data is not _LEFT_OUT:
        data = _drop(data, excluded)
    return {} if data is _LEFT_OUT else data


def _name_matches(pattern: str, name: str) -> bool:
    if "*" not in pattern:
        return pattern == name
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), name) is not None


def _advance(patterns: list[list[str]], name: str) -> tuple[bool, list[list[str]]]:
    """Walk one name down each pattern: whether one ends there, and the patterns left for what is below it."""
    ends, below = False, []
    for pattern in patterns:
        head, rest = pattern[0], pattern[1:]
        if head == "**":
            below.append(pattern)  # `**` takes this level and may take more
            if rest:
                ended, deeper = _advance([rest], name)
                ends, below = ends or ended, below + deeper
            else:
                ends = True
        elif _name_matches(head, name):
            if rest:
                below.append(rest)
            else:
                ends = True
    return ends, below


def _keep(value: Any, patterns: list[list[str]]) -> Any:
    if isinstance(value, list):
        kept = [item for item in (_keep(item, patterns) for item in value) if item is not _LEFT_OUT]
        return kept or _LEFT_OUT
    if not isinstance(value, dict):
        return _LEFT_OUT
    kept = {}
    for name, item in value.items():
        ends, below = _advance(patterns, name)
        if ends:
            kept[name] = item
        elif below and (inner := _keep(item, below)) is not _LEFT_OUT:
            kept[name] = inner
    return kept or _LEFT_OUT


def _drop(value: Any, patterns: list[list[str]]) -> Any:
    if isinstance(value, list):
        return [_drop(item, patterns) for item in value]
    if not isinstance(value, dict):
        return value
    kept = {}
    for name, item in value.items():
        ends, below = _advance(patterns, name)
        if not ends:
            kept[name] = _drop(item, below) if below else item
    return kept
