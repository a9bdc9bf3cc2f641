"""Elasticsearch's ways of writing time: durations (`30m`, `1d`, `7d`) as whole seconds, moments as epoch
milliseconds or ISO 8601, and the current moment at the millisecond precision Elasticsearch stores."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from apikeys.domain.errors import ApiError

UNIT_SECONDS = {
    "nanos": 1e-9,
    "micros": 1e-6,
    "ms": 1e-3,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
}
_TIME_VALUE = re.compile(r"(\d+)\s*(nanos|micros|ms|s|m|h|d)")


class InvalidDuration(ApiError):
    pass


def parse_duration(value: object, setting: str = "expiration") -> int:
    """Whole seconds in an Elasticsearch time value; raise InvalidDuration with Elasticsearch's words."""
    prefix = f"failed to parse setting [{setting}] with value [{value}] as a time value"
    if not isinstance(value, str):
        raise InvalidDuration(f"{prefix}: a time value must be a string such as [1d]")
    text = value.strip().lower()
    match = _TIME_VALUE.fullmatch(text)
    if not match:
        if re.fullmatch(r"-?\d+", text):
            reason = "unit is missing or unrecognized"
        elif text.startswith("-"):
            reason = "negative durations are not supported"
        elif re.fullmatch(r"-?\d*\.\d*\s*[a-z]*", text):
            reason = "fractional time values are not supported"
        else:
            reason = "unit is missing or unrecognized"
        raise InvalidDuration(f"{prefix}: {reason}")
    amount, unit = int(match.group(1)), match.group(2)
    if amount > 10**12:
        raise InvalidDuration(f"{prefix}: value is too large")
    return int(amount * UNIT_SECONDS[unit])


def now() -> datetime:
    """The current moment, read from `time.time`: the clock the caches' expiry reads too, so that a test that
    moves `time.time` (tests' `clock` fixture) moves keys' expiry and the caches' marks together."""
    return datetime.fromtimestamp(time.time(), UTC)


def now_ms() -> datetime:
    """The current time at millisecond precision, as Elasticsearch stores it (so `_sort` round-trips)."""
    moment = now()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def epoch_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso_timestamp(moment: datetime) -> str:
    """`2024-05-01T12:00:00Z`: ISO 8601 in UTC, as Elasticsearch writes `*_as_string`."""
    return moment.isoformat().replace("+00:00", "Z")
