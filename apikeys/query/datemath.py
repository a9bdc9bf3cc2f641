"""Dates as Elasticsearch takes them in a query: epoch milliseconds, ISO 8601, or date math (`now-1d/d`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from apikeys.domain.errors import QueryError

_DATE_MATH = re.compile(r"now((?:[+-]\d+[yMwdhHms])*)(?:/([yMwdhHms]))?")
_DATE_MATH_STEP = re.compile(r"([+-])(\d+)([yMwdhHms])")


def _round_down(moment: datetime, unit: str) -> datetime:
    if unit == "y":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        start = moment - timedelta(days=moment.weekday())
        return start.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit in "hH":
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)


def _add(moment: datetime, sign: int, amount: int, unit: str) -> datetime:
    if unit in "yM":
        months = moment.month - 1 + sign * amount * (12 if unit == "y" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        day = min(
            moment.day,
            [
                31,
                29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ][month - 1],
        )
        return moment.replace(year=year, month=month, day=day)
    seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    return moment + timedelta(seconds=sign * amount * seconds)


def parse_date(value: Any, now: datetime | None = None) -> datetime:
    """A date as Elasticsearch takes it: epoch milliseconds, ISO 8601, or date math such as `now-1d/d`."""
    try:
        moment = _read_date(value, now)
    except (ValueError, OverflowError, OSError):  # unparseable, or beyond any datetime (year 300,000, say)
        moment = None
    if moment is None:
        raise QueryError(
            f"failed to parse date field [{value}] with format [strict_date_optional_time||epoch_millis]",
            "parse_exception",
        )
    return moment


def _read_date(value: Any, now: datetime | None) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        math = _DATE_MATH.fullmatch(text)
        if math:
            moment = now or timezone.now()
            for sign, amount, unit in _DATE_MATH_STEP.findall(math.group(1)):
                moment = _add(moment, 1 if sign == "+" else -1, int(amount), unit)
            return _round_down(moment, math.group(2)) if math.group(2) else moment
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
