"""How long keys live: the site's lifetime policy (`APIKEYS_DEFAULT_EXPIRATION`, `APIKEYS_MAX_EXPIRATION`),
applied to every expiration a user chooses (create, grant, update, clone, the console's flyout), to a rolled
key's successor and to the expiration a clone inherits. Written once here; the console reads `policy()` to show
the limit and pre-fill the default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apikeys.domain.durations import InvalidDuration, parse_duration
from apikeys.domain.errors import ValidationFailed
from apikeys.models import ApiKey


@dataclass(frozen=True)
class LifetimePolicy:
    """The default and the maximum lifetime, as written in the settings (`"90d"`) and in seconds."""

    default: str | None = None
    maximum: str | None = None
    default_seconds: int | None = None
    maximum_seconds: int | None = None

    def limit_text(self) -> str:
        return f"[{self.maximum}] (APIKEYS_MAX_EXPIRATION)"


def policy() -> LifetimePolicy:
    """The policy the settings describe; a setting that is not a duration, or a default beyond the maximum, is
    a configuration error (the system check reports it at start-up)."""
    default, maximum = settings.APIKEYS_DEFAULT_EXPIRATION, settings.APIKEYS_MAX_EXPIRATION
    try:
        default_seconds = parse_duration(default, "APIKEYS_DEFAULT_EXPIRATION") if default else None
        maximum_seconds = parse_duration(maximum, "APIKEYS_MAX_EXPIRATION") if maximum else None
    except InvalidDuration as error:
        raise ImproperlyConfigured(error.message) from error
    if default_seconds is not None and maximum_seconds is not None and default_seconds > maximum_seconds:
        raise ImproperlyConfigured(
            f"APIKEYS_DEFAULT_EXPIRATION [{default}] is longer than APIKEYS_MAX_EXPIRATION [{maximum}]"
        )
    return LifetimePolicy(default, maximum, default_seconds, maximum_seconds)


def chosen_duration(value: Any, creating: bool = True) -> Any:
    """The duration a request chose (`"30d"`, or None: never expires), held to the policy: creating, none
    means the default; an update that names none changes nothing and is not checked."""
    rules = policy()
    if value is None and creating:
        value = rules.default
    if value is None:
        if creating:
            allow_no_expiration(rules)
        return None
    if rules.maximum_seconds is not None and parse_duration(value) > rules.maximum_seconds:
        raise ValidationFailed(
            f"[expiration] [{value}] is longer than the maximum API key lifetime {rules.limit_text()}",
            path="expiration",
        )
    return value


def allow_no_expiration(rules: LifetimePolicy | None = None) -> None:
    """Refuse a new key that never expires when the policy sets a maximum."""
    rules = rules or policy()
    if rules.maximum_seconds is not None:
        raise ValidationFailed(
            f"[expiration] is required: API keys may live at most {rules.limit_text()}", path="expiration"
        )


def inherited_expiration(expiration: datetime | None, now: datetime) -> datetime | None:
    """A cloned key's expiration when the clone names none: its source's, held to the maximum (a source made
    before the maximum was set may never expire). Shortened rather than refused, as a roll's successor is."""
    rules = policy()
    if rules.maximum_seconds is None:
        return expiration
    latest = now + timedelta(seconds=rules.maximum_seconds)
    return latest if expiration is None else min(expiration, latest)


def successor_expiration(key: ApiKey, now: datetime) -> datetime | None:
    """A rolled key's successor lives as long as the key did (creation to expiration), counted from `now`: none
    when it had none, unless the policy sets a default. The roll chooses no lifetime, so one beyond the maximum
    is shortened to it rather than refused: refusing would leave such a key impossible to rotate."""
    rules = policy()
    if key.expiration is not None:
        # Whole seconds: a key made with "30d" lives 30 days less the milliseconds between its two timestamps.
        seconds = max(round((key.expiration - key.creation).total_seconds()), 1)
    else:
        seconds = rules.default_seconds if rules.default_seconds is not None else rules.maximum_seconds
    if seconds is None:
        return None
    if rules.maximum_seconds is not None:
        seconds = min(seconds, rules.maximum_seconds)
    return now + timedelta(seconds=seconds)
