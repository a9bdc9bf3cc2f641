"""Reading settings from the environment: one function per kind of value. A malformed value stops start-up with
ImproperlyConfigured naming the variable and what it expected, rather than a bare ValueError from `int()` or a
silently wrong setting (`DJANGO_DEBUG=ture` used to mean false). An empty value counts as unset, so `NAME=` in
an env file means the default."""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def _raw(name: str) -> str | None:
    """The value as set (a password may begin with a space), or None when unset or blank."""
    value = os.environ.get(name, "")
    return value if value.strip() else None


def _refuse(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={value!r} is not valid: expected {expected}")


def string(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value


def choice(name: str, choices: Sequence[str], default: str) -> str:
    """One of `choices` (given in lower case), whatever the case it is written in."""
    value = _raw(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word not in choices:
        raise _refuse(name, value, "one of " + ", ".join(choices))
    return word


def integer(name: str, default: int) -> int:
    """A whole number, 0 or more: every integer setting is a count, a size or a length of time."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise _refuse(name, value, "a whole number, 0 or more")
    return number


def number(name: str, default: float) -> float:
    """A decimal number, 0 or more (seconds such as `0.25`)."""
    value = _raw(name)
    if value is None:
        return default
    try:
        parsed = float(value)
    except ValueError:
        parsed = math.nan
    if not math.isfinite(parsed) or parsed < 0:
        raise _refuse(name, value, "a number, 0 or more (such as 0.25)")
    return parsed


def boolean(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word not in TRUE_WORDS + FALSE_WORDS:
        raise _refuse(name, value, "true or false (or 1/0, yes/no, on/off)")
    return word in TRUE_WORDS


def comma_list(name: str, default: str) -> list[str]:
    """Comma-separated words, each stripped; empty items are dropped."""
    return [item.strip() for item in string(name, default).split(",") if item.strip()]


def networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated networks in CIDR notation (an address alone is its own network)."""
    found = []
    for item in comma_list(name, ""):
        try:
            found.append(ipaddress.ip_network(item))
        except ValueError:
            raise _refuse(name, item, "networks in CIDR notation, comma-separated (10.0.0.0/8,::1)") from None
    return tuple(found)


def export(name: str, value: str) -> None:
    """Set a variable for what reads it itself: a library (prometheus-client) and the processes started after."""
    os.environ[name] = value
