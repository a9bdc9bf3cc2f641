"""How the console shows things to people: spans of time, statuses, badges, the ways to copy a new key, and
every refusal (`access.permissions.Refusal`) in the console's words. Views and the table call these; nothing
here decides who may do what."""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from html import escape
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from apikeys.access.permissions import Refusal
from apikeys.console.charts import stacked_bars
from apikeys.domain.errors import ActionDenied, ApiError
from apikeys.domain.key_rules import KeyStatus, expiring_soon
from apikeys.domain.privileges.actions import privileges_granting
from apikeys.infra.oidc import Problem, SignInFailed
from apikeys.models import ApiKey, KeyType
from apikeys.readmodels.listing import TYPES, type_of
from apikeys.records.usage import Bucket
from apikeys.services import CreatedKey, Invalidation

JUST_NOW = timedelta(minutes=1)

# The largest whole unit of a span of time, as Django's `timesince(depth=1)` says it (its units, calendar months
# and years, non-breaking spaces) at a third of the cost: it was a sixth of the list page's time.
SECONDS_PER_UNIT = ((604800, "week"), (86400, "day"), (3600, "hour"), (60, "minute"))


def _count(number: int, unit: str) -> str:
    return f"{number}\xa0{unit}{'' if number == 1 else 's'}"


def elapsed(earlier: datetime, later: datetime, rounded: bool = False) -> str:
    """`5 hours`, `3 days`, `11 months`: the first non-zero unit of the span from `earlier` to `later`, whole
    units passed (or, `rounded`, the nearest number of them: a key rolled with 24 hours of grace "expires in
    24 hours", not in 23, a second later)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if (earlier.day, earlier.time()) > (later.day, later.time()):
        months -= 1
    if months >= 12:
        return _count(months // 12, "year")
    if months >= 1:
        return _count(months, "month")
    seconds = (later - earlier).total_seconds()
    if rounded and round(seconds / 60) == 60:
        return _count(1, "hour")  # "24 hours" and "7 days" read well; "60 minutes" does not
    for size, unit in SECONDS_PER_UNIT:
        if seconds >= size:
            return _count(round(seconds / size) if rounded else int(seconds // size), unit)
    return _count(0, "minute")


@functools.lru_cache(maxsize=4096)  # a few hundred texts a page, most of them the same ("Active", "3 days ago")
def html_text(text: str) -> str:
    """`text` escaped, its non-breaking spaces written `&nbsp;`: the page stays ASCII, which Python keeps one
    byte a character; one wider character anywhere made every join and the encoding of a whole list page cost
    more (about 2 ms at 250 rows)."""
    return escape(text).replace("\xa0", "&nbsp;")


def relative_time(moment: datetime | None, never: str = "Never", now: datetime | None = None) -> str:
    """`<time>` with a relative text and the exact moment (the page's script shows it in local time)."""
    if moment is None:
        return never
    now = now or timezone.now()
    if abs(now - moment) < JUST_NOW:
        text = "Just now"
    elif moment <= now:
        text = f"{elapsed(moment, now)} ago"
    else:
        text = f"in {elapsed(now, moment)}"
    exact = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return SafeString(f'<time datetime="{moment.isoformat()}" title="{exact}">{html_text(text)}</time>')


def status_of(key: ApiKey, now: datetime | None = None) -> tuple[str, str]:
    """(label, tone) for the Status column: Active, Expires in … (a warning when expiring soon), Expired,
    Invalidated."""
    now = now or timezone.now()
    status = key.status(now)
    if status is KeyStatus.INVALIDATED:
        return status.label, "danger"
    if status is KeyStatus.EXPIRED:
        return status.label, "muted"
    if key.expiration is None:
        return status.label, "success"
    tone = "warning" if expiring_soon().holds(key, now) else "success"
    return f"Expires in {elapsed(now, key.expiration, rounded=True)}", tone


def badge(label: str, tone: str) -> str:
    return f'<span class="badge {tone}">{html_text(label)}</span>'


# Beside the status of a key whose owner is disabled: every request with it is refused until the owner is enabled.
OWNER_DISABLED = "Owner disabled"


def owner_badge(owner_enabled: bool) -> SafeString:
    """The Owner disabled badge, after a key's status (nothing while the owner is enabled)."""
    return SafeString("" if owner_enabled else f" {badge(OWNER_DISABLED, 'danger')}")


# Beside the status of a key secret scanning reported: the badge links to where it was found.
LEAKED = "Leaked"


def _where_found(url: str, inner: str, css: str = "") -> str:
    """A link to where a key was found, or the text alone when the URL is not http(s): a link runs what its
    scheme says."""
    css = f' class="{css}"' if css else ""
    if not url.startswith(("https://", "http://")):
        return f"<span{css}>{inner}</span>"
    return f'<a{css} href="{html_text(url)}" rel="noopener noreferrer nofollow">{inner}</a>'


def leaked_badge(leaked: dict[str, Any] | None) -> SafeString:
    """The Leaked badge, linking to where the key was found (nothing for a key never reported)."""
    if not leaked:
        return SafeString("")
    url = str(leaked.get("url", ""))
    hidden = f'<span class="visually-hidden"> (found at {html_text(url)})</span>'
    return SafeString(" " + _where_found(url, LEAKED + hidden, "badge danger"))


def leaked_note(key: ApiKey) -> SafeString:
    """What the key page says of a reported key, with where it was found (nothing for a key never reported)."""
    if not key.leaked:
        return SafeString("")
    url = str(key.leaked.get("url", ""))
    done = "It was invalidated." if key.invalidated else "It still works: roll it or delete it now."
    return SafeString(
        f"Secret scanning found this key in public and reported it. {done} Found at: {_where_found(url, html_text(url))}"
    )


def owner_disabled_note(key: ApiKey) -> str:
    return f"Its owner, {key.username}, is disabled: every request with this API key is refused until they are enabled."


TYPE_TONES = {"personal": "plain", "managed": "accent", "cross_cluster": "info"}


def type_badge(key: ApiKey) -> SafeString:
    """The key's Type, as the list's rows and the key page show it."""
    kind = type_of(key)
    return SafeString(badge(TYPES[kind], TYPE_TONES[kind]))


# --- refusals, in the console's words (the API says them in Elasticsearch's: `api/refusals.py`) -----------------

# Why a key page is read-only (its update, or its roll, refused).
READ_ONLY_REASONS = {
    Refusal.API_KEY: "API keys can't update API keys.",
    Refusal.NO_PRIVILEGE: "You do not have permission to update API keys.",
    Refusal.INVALIDATED: "This API key has been deleted. You can no longer update it.",
    Refusal.EXPIRED: "This API key has expired. You can no longer update it.",
    Refusal.OTHER_TYPE: "This API key is of another type.",
    Refusal.MANAGED: "This API key is managed by the system. You can't update it.",
    Refusal.NOT_OWNER: "You can't update this API key. It belongs to another user.",
    Refusal.NOT_FOUND: "This API key no longer exists.",
    Refusal.ROLLED: "This API key has been rolled already: the key that replaced it can be rolled.",
}
CROSS_CLUSTER_NO_PRIVILEGE = "You need the manage_security privilege to update cross-cluster API keys."
# Why a key was not deleted, after "Could not delete 'name': ".
DELETE_REFUSALS = {
    Refusal.NO_PRIVILEGE: "you do not have permission to delete API keys.",
    Refusal.NOT_OWNER: "it belongs to another user.",
    Refusal.CROSS_CLUSTER: "deleting a cross-cluster API key needs the manage_security privilege.",
    Refusal.INVALIDATED: "it has been deleted already.",
}
NO_KEY_PRIVILEGE = "You do not have permission to manage API keys"
NO_BULK_DELETE = {
    "expired": "Only administrators can delete all expired API keys",
    "unused": "Only administrators can delete all unused API keys",
}
NO_AUDIT_PRIVILEGE = "Only administrators can read the audit log"
NO_SECURITY_PRIVILEGE = "Only those who manage security (manage_security) can change role mappings"
DENIED = "You do not have permission to do this."


def problem_text(error: ApiError) -> str:
    """What went wrong, for a person: a denied action says which privilege it needs (or whom one may not act
    as); any other error its problems."""
    if not isinstance(error, ActionDenied):
        return error.message
    if error.run_as:
        return f"You may not act as {error.run_as}."
    granting = privileges_granting(error.action, error.own)
    return f"{DENIED} It needs the {granting[0]} privilege." if granting else DENIED


UNKNOWN_EXPORT_FORMAT = "The audit log can be exported as format=ndjson or format=csv"


def read_only_reason(refusal: Refusal | None, key: ApiKey) -> str | None:
    if refusal is Refusal.NO_PRIVILEGE and key.type == KeyType.CROSS_CLUSTER:
        return CROSS_CLUSTER_NO_PRIVILEGE
    return READ_ONLY_REASONS[refusal] if refusal else None


def deletion_messages(
    outcome: Invalidation, names: dict[str, str], requested: list[str] | None
) -> tuple[str | None, list[str]]:
    """What a delete did, for people: the success line (None when nothing was deleted) and one line per key
    left alone, naming it and saying why; ids asked for that nobody may address are named together."""
    deleted = outcome.invalidated
    if len(deleted) == 1:
        done = f"Deleted API key '{names.get(deleted[0], deleted[0])}'"
    else:
        done = f"Deleted {len(deleted):,} API keys" if deleted or requested is None else None
    refused = [
        f"Could not delete '{names.get(key_id, key_id)}': {DELETE_REFUSALS[refusal]}"
        for key_id, refusal in outcome.refused.items()
    ]
    accounted = {*deleted, *outcome.previously, *outcome.refused}
    missing = [key_id for key_id in requested or [] if key_id not in accounted]
    if missing:
        refused.append(f"Could not delete: {', '.join(missing)} (not found, already deleted or not yours)")
    return done, refused


# --- a new key, shown once; a rolled key's end -------------------------------------------------------------------


def key_formats(created: CreatedKey, request: HttpRequest) -> dict[str, str]:
    """The ways to copy a new key. A cross-cluster key goes into a remote cluster's keystore, encoded: it
    cannot call this API, so there is no `curl` line to try, nor Beats or Logstash forms."""
    if created.key.type == KeyType.CROSS_CLUSTER:
        return {"encoded": created.encoded, "json": json.dumps(created.to_dict())}
    return {
        "encoded": created.encoded,
        "beats": f"{created.key.id}:{created.secret}",
        "logstash": f"{created.key.id}:{created.secret}",
        "json": json.dumps(created.to_dict()),
        "curl": f'curl "{request.build_absolute_uri("/").rstrip("/")}/_security/_authenticate" '
        f'-H "Authorization: ApiKey {created.encoded}"',
    }


def old_key_stops(old: ApiKey) -> str:
    if old.is_expired():
        return "The old key has stopped working."
    return format_html("The old key stops working {}.", relative_time(old.expiration))


# --- a key's usage ---------------------------------------------------------------------------------------------

# The Usage card's periods: `?usage=` -> (days, interval, words).
USAGE_PERIODS = {"30d": (30, "1d", "30 days"), "24h": (1, "1h", "24 hours")}
DEFAULT_USAGE_PERIOD = "30d"


def usage_period(asked: str | None) -> str:
    return asked if asked in USAGE_PERIODS else DEFAULT_USAGE_PERIOD


def usage_card(key: ApiKey, buckets: list[Bucket], period: str, now: datetime) -> dict[str, Any]:
    """The Usage card: requests per day for 30 days (or per hour for 24 hours), as a chart, a summary line
    and a table of the same numbers."""
    _, interval, words = USAGE_PERIODS[period]
    when = "%b %-d" if interval == "1d" else "%H:00"
    rows = [(b.start.strftime(when), b.success, b.refused_total) for b in buckets]
    total = sum(b.total for b in buckets)
    refused = sum(b.refused_total for b in buckets)
    last = f"last used {elapsed(key.last_used, now)} ago" if key.last_used else "never used"
    if key.last_used and now - key.last_used < JUST_NOW:
        last = "last used just now"
    summary = f"{total:,} request{'s' if total != 1 else ''} in {words}, {refused:,} refused; {last}"
    return {
        "usage_period": period,
        "usage_rows": rows,
        "usage_summary": summary,
        "usage_chart": stacked_bars(rows, f"Requests per {'day' if interval == '1d' else 'hour'}: {summary}"),
        "usage_unit": "Day" if interval == "1d" else "Hour (UTC)",
    }


# --- Signing in with the organisation's provider ----------------------------------------------------------------

SIGN_IN_PROBLEMS = {
    Problem.UNREACHABLE: "The identity provider could not be reached. Try again later, or tell your administrator.",
    Problem.TIMEOUT: "The identity provider did not answer in time. Try again in a moment.",
    Problem.REFUSED: "The identity provider refused the sign-in.",
    Problem.STATE: "This sign-in could not be matched to your browser (it may have taken too long). Please sign in again.",
    Problem.WRONG_ISSUER: "The sign-in was refused: the answer did not come from the identity provider configured here.",
    Problem.WRONG_AUDIENCE: "The sign-in was refused: the identity provider's answer was meant for another application.",
    Problem.WRONG_NONCE: "The sign-in was refused: the identity provider's answer belonged to another sign-in.",
    Problem.EXPIRED: "The sign-in was refused: the identity provider's answer had expired. Please sign in again.",
    Problem.BAD_SIGNATURE: "The sign-in was refused: the identity provider's answer was not signed with its keys.",
    Problem.BAD_TOKEN: "The sign-in was refused: the identity provider's answer could not be verified.",
    Problem.NO_USERNAME: "The identity provider did not say who you are, so you cannot be signed in.",
    Problem.NO_ROLE: "You are known to the identity provider, but no role mapping gives you a role in this console. "
    "Ask an administrator to map one of your groups to a role.",
    Problem.DISABLED: "Your account is disabled in this console.",
}


def sign_in_problem(failure: SignInFailed) -> str:
    return SIGN_IN_PROBLEMS[failure.problem]
