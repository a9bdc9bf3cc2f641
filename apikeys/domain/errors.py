"""Errors as data. Everything the API refuses is an `ApiError`: its class carries the HTTP status and the
Elasticsearch error type, its attributes the reason (Elasticsearch's words), the problems one by one and the
JSON path of the culprit. The API renders one as an Elasticsearch error body (`http.es_error_body`); the
console shows `message` beside the field `path` names. Nobody reads an error's text to decide what it is.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    status = 400
    error_type = "illegal_argument_exception"

    def __init__(
        self,
        reason: str,
        *,
        path: str = "",
        problems: Sequence[str] = (),
        error_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        caused_by: ApiError | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.path = path
        self.problems = list(problems) or [reason]
        if error_type is not None:
            self.error_type = error_type
        self.headers = dict(headers or {})
        # The failure this one wraps (Elasticsearch's `caused_by`): shown beside the reason, not in `root_cause`.
        self.caused_by = caused_by

    @property
    def message(self) -> str:
        """The problems in plain words, for a person: no numbering, no `Validation Failed`."""
        return "; ".join(self.problems)

    def wire_fields(self) -> dict[str, Any]:
        """Fields of the error body beyond `type` and `reason`."""
        return {}

    def wire_body(self) -> dict[str, Any] | None:
        """A whole error body of another shape than Elasticsearch's usual one, or None for the usual one."""
        return None


class ValidationFailed(ApiError):
    """Elasticsearch's `Validation Failed: 1: …;2: …;`, every problem found at once."""

    error_type = "action_request_validation_exception"

    def __init__(self, *problems: str, path: str = ""):
        numbered = "".join(f"{i}: {problem};" for i, problem in enumerate(problems, 1))
        super().__init__(f"Validation Failed: {numbered}", path=path, problems=problems)


class InvalidRequest(ValidationFailed):
    """Elasticsearch's `ValidationException`: what its actions find wrong once running (a user that must exist,
    a password too short), worded as `ValidationFailed` is, typed apart from a request's own validation."""

    error_type = "validation_exception"


class ParseFailed(ApiError):
    """A body that is not what the endpoint reads: not an object, a field of the wrong type or unknown."""

    error_type = "x_content_parse_exception"


class NotFound(ApiError):
    status = 404
    error_type = "resource_not_found_exception"


class Forbidden(ApiError):
    """The caller may not do this. A denied action is an `ActionDenied`, which carries the facts, not words."""

    status = 403
    error_type = "security_exception"


@dataclass(frozen=True)
class Requester:
    """Who asked, as a denial reports it: a user with the roles it holds now (`effective_roles`) and those it is
    assigned, some perhaps not existing (`missing_roles`); a service account; or an API key and its owner."""

    USER = "user"
    SERVICE_ACCOUNT = "service_account"
    API_KEY = "api_key"

    kind: str
    username: str
    api_key_id: str = ""
    effective_roles: tuple[str, ...] = ()
    assigned_roles: tuple[str, ...] = ()

    @property
    def missing_roles(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.assigned_roles) - set(self.effective_roles)))


class ActionDenied(Forbidden):
    """`requester` may not perform `action` (a cluster action name). `own`: the request named only the caller's
    own keys (which `manage_own_api_key` would have granted); `run_as`: the user the requester asked to act as,
    when that is what was refused. Each surface words it: the API as Elasticsearch does (`api/refusals.py`), the
    console for people (`console/presenters.py`); `reason` is only the action's name."""

    def __init__(self, action: str, requester: Requester, own: bool = False, run_as: str = ""):
        super().__init__(action)
        self.action = action
        self.requester = requester
        self.own = own
        self.run_as = run_as


class AuthenticationFailed(ApiError):
    """Who is calling could not be established. `key_id` and `username` are what the caller claimed; `refusal`
    why a key that exists (or, `malformed`, may exist) was refused (counted in its usage), empty when no key is to
    blame."""

    status = 401
    error_type = "security_exception"

    def __init__(self, reason: str, key_id: str = "", username: str = "", refusal: str = "", malformed: bool = False):
        super().__init__(reason, headers={"WWW-Authenticate": WWW_AUTHENTICATE})
        self.key_id = key_id
        self.username = username
        self.refusal = refusal
        # A recognisable secret whose checksum fails: refused before anything is read or counted but its usage.
        self.malformed = malformed


WWW_AUTHENTICATE = 'ApiKey, Basic realm="security", charset="UTF-8", Bearer realm="security"'


class TooManyFailures(ApiError):
    status = 429
    error_type = "too_many_requests"

    def __init__(self, retry_after: int):
        super().__init__(
            f"too many failed authentication attempts; retry in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class TokenRefused(ApiError):
    """The token endpoint's refusals, in OAuth2's shape (RFC 6749 5.2) as Elasticsearch answers them:
    `{"error": "invalid_grant", "error_description": "..."}`. `error` is the OAuth2 error code."""

    def __init__(self, code: str, description: str):
        super().__init__(description, error_type=code)

    def wire_body(self) -> dict[str, Any]:
        return {"error": self.error_type, "error_description": self.reason}


class ServiceUnavailable(ApiError):
    """The database is away (stopped, restarting, refusing connections, read-only, full): retry shortly.
    Elasticsearch answers a cluster that cannot serve yet with a 503 `cluster_block_exception`."""

    status = 503
    error_type = "cluster_block_exception"

    def __init__(self, reason: str, retry_after: int):
        super().__init__(reason, headers={"Retry-After": str(retry_after)})


class ContentTooLong(ApiError):
    status = 413
    error_type = "content_too_long_exception"


class MethodNotAllowed(ApiError):
    status = 405
    error_type = "method_not_allowed"


class InvalidRoleDescriptor(ApiError):
    """A role descriptor broke the schema or named an unknown privilege; `path` points at the culprit and is
    part of the answer. An unknown field is a `parse_exception`, as in Elasticsearch."""

    def wire_fields(self) -> dict[str, Any]:
        return {"path": self.path}


class QueryError(ApiError):
    """A query the engine refuses; `error_type` is the one Elasticsearch answers with."""

    def __init__(self, reason: str, error_type: str | None = None, **kwargs: Any):
        super().__init__(reason, error_type=error_type, **kwargs)


# The JSON token Elasticsearch's parsers name when a field's value is of a type they do not take.
JSON_TOKENS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "VALUE_BOOLEAN"),
    ((int, float), "VALUE_NUMBER"),
    (str, "VALUE_STRING"),
    (Mapping, "START_OBJECT"),
    (list, "START_ARRAY"),
)


def unsupported_value(parser: str, field: str, value: Any) -> ParseFailed:
    """Elasticsearch's refusal of a field whose JSON type its parser `parser` does not take there."""
    token = next((name for kind, name in JSON_TOKENS if isinstance(value, kind)), "VALUE_NULL")
    return ParseFailed(f"[{parser}] {field} doesn't support values of type: {token}", path=field)


def reject_unknown(
    body: Mapping[str, Any],
    allowed: Collection[str],
    reason: str,
    error: type[ApiError] = ParseFailed,
    error_type: str | None = None,
) -> None:
    """Refuse the first unknown field of `body` (in name order): `reason` names it where it says `{}`."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise error(reason.format(unknown[0]), path=unknown[0], error_type=error_type)
