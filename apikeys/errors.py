"""The one error type services raise; the API turns it into an Elasticsearch error body, the console
into form errors or a callout."""

from __future__ import annotations


class ServiceError(Exception):
    def __init__(self, reason: str, error_type: str = "illegal_argument_exception", status: int = 400, **extra):
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type
        self.status = status
        self.extra = extra

    @classmethod
    def validation(cls, *reasons: str) -> ServiceError:
        numbered = "".join(f"{i}: {r};" for i, r in enumerate(reasons, 1))
        return cls(f"Validation Failed: {numbered}", "action_request_validation_exception")

    @classmethod
    def not_found(cls, reason: str, **extra) -> ServiceError:
        return cls(reason, "resource_not_found_exception", 404, **extra)

    @classmethod
    def unauthorized(cls, action: str, username: str) -> ServiceError:
        return cls(f"action [{action}] is unauthorized for user [{username}]", "security_exception", 403)

    @classmethod
    def parse(cls, reason: str) -> ServiceError:
        return cls(reason, "x_content_parse_exception", 400)
