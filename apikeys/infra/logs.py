"""Logging filters: credentials scrubbed from every record, whoever logs it; refusals said once."""

from __future__ import annotations

import logging
import re

# A record carrying its fields whole in this attribute (the line each request writes, `request_log`) is written
# by the JSON formatter's shortcut (`config.logs.JsonFormatter.format_fields`).
FIELDS = "json_fields"


class LeavesFieldsLines:
    """Marks a filter that passes a fields line (its message the word `request`, its request id among its fields)
    unchanged: `request_log.RequestLines` may write such a line past it without building a record."""


# `Authorization: ApiKey xxx` / `Basic xxx` / `Bearer xxx`, and `api_key`/`password`/`encoded` values in
# text or JSON.
PATTERNS = [
    re.compile(r"(?i)\b(ApiKey|Basic|Bearer)\s+[A-Za-z0-9+/=_\-.:]{8,}"),
    re.compile(r"""(?i)(["']?(?:api_key|encoded|password|secret)["']?\s*[:=]\s*["']?)[^"'\s,}]+"""),
]


def scrub(text: str) -> str:
    text = PATTERNS[0].sub(lambda m: f"{m.group(1)} [REDACTED]", text)
    return PATTERNS[1].sub(lambda m: f"{m.group(1)}[REDACTED]", text)


class ScrubSecrets(LeavesFieldsLines, logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class QuietRefusals(logging.Filter):
    """Django logs every 4xx on `django.request`. A 401 or 429 is already logged by `apikeys.access.authentication`, once per
    client and window (its count goes in the audit log): under a flood of bad keys, a line per request would
    cost every request a write and bury the one that matters."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) not in (401, 429)
