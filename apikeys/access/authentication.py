"""Who is calling the JSON API: `Authorization: ApiKey <encoded>`, `Basic <user:pass>` or `Bearer <token>` (an
OAuth2 access token from `/_security/oauth2/token`), nothing else.

Successful verifications of slow hashes (argon2id) are remembered (`caching`: this process, then the shared
cache), like Elasticsearch's realm and API key caches: a warm request never runs a slow hash. A fast hash
(SSHA256, the default) is checked every time: that costs less than asking a cache. The key's row is still read
on every request, so an invalidated or expired key is refused on the very next request even before its cache
entry is evicted, and a changed hash changes the fingerprint that is compared.

Failures are audited and counted per client and per key id: many in a window answer 429. Only failures are
counted and a success is never refused, so a valid key's holder is never locked out by someone guessing at
its key id; the guesser is slowed down and logged.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.encoding import escape_uri_path

from apikeys.access.principals import Principal
from apikeys.access.tokens import authenticate_token
from apikeys.domain import keys, networks
from apikeys.domain.durations import now_ms
from apikeys.domain.errors import AuthenticationFailed, TooManyFailures
from apikeys.infra import caching, metrics
from apikeys.infra.deferred import after_response
from apikeys.infra.fast_rows import JoinedSelect
from apikeys.infra.http import client_address
from apikeys.models import ApiKey, KeyType, User
from apikeys.records import audit, usage

log = logging.getLogger(__name__)

# The columns verification and the caller's principal read; any other is loaded if ever asked for. Not the
# key's metadata, its other dates or its copies of the owner's name, nor the owner's password, names or dates.
KEY_FIELDS = {
    "id",
    "name",
    "type",
    "owner",
    "expiration",
    "invalidated",
    "managed",
    "hash",
    "role_descriptors",
    "limited_by",
    "allowed_ips",
}
OWNER_FIELDS = {"id", "username", "email", "full_name", "metadata", "is_active", "is_superuser", "is_service_account"}
# Read as SQL compiled once, not by the ORM: building the join's query on every request cost more than running it.
KEY_WITH_OWNER = JoinedSelect(ApiKey, KEY_FIELDS, "owner", OWNER_FIELDS)


def authenticate(request: HttpRequest) -> Principal:
    """The caller of a JSON API request. Failures are audited and counted: many in a row answer 429."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.strip().partition(" ")
    scheme = scheme.lower()
    try:
        if scheme == "apikey":
            principal = Principal.for_api_key(authenticate_api_key(credentials.strip(), client_address(request)))
        elif scheme == "basic":
            principal = Principal.for_user(authenticate_basic(credentials.strip()))
        elif scheme == "bearer":
            principal = Principal.for_user(authenticate_token(credentials.strip()))
            principal.by_token = True
        else:
            raise AuthenticationFailed("missing authentication credentials for REST request")
    except AuthenticationFailed as failure:
        # A malformed recognisable secret is refused on sight: counting it in the shared cache would cost more.
        retry_after = _note_failure(request, failure) if header and not failure.malformed else None
        if failure.refusal:
            usage.count(failure.key_id, usage.Refusal.THROTTLED if retry_after else failure.refusal)
        reason = _refusal_reason(scheme, failure, bool(retry_after))
        metrics.authenticated(request, scheme, failure.key_id, failure.username, reason)
        if retry_after:
            raise TooManyFailures(retry_after) from failure
        raise
    principal.client_address = client_address(request)
    metrics.authenticated(request, scheme, principal.api_key.id if principal.api_key else "", principal.user.username)
    return principal


def _refusal_reason(scheme: str, failure: AuthenticationFailed, throttled: bool) -> str:
    """Why a request was refused, as `apikeys_authentications_total` counts it: usage's reasons for a key that
    exists, and the metric's own for what no key is to blame for."""
    if throttled:
        return usage.Refusal.THROTTLED
    if failure.refusal:
        return failure.refusal
    if scheme == "apikey":
        return metrics.UNKNOWN_ID if failure.key_id else metrics.MALFORMED
    if scheme == "basic":
        return metrics.WRONG_USER_OR_PASSWORD if failure.username else metrics.MALFORMED
    return metrics.INVALID_TOKEN if scheme == "bearer" else metrics.MISSING_CREDENTIALS


def _note_failure(request: HttpRequest, failure: AuthenticationFailed) -> int | None:
    """Count, log and audit a failure; the seconds to wait when the caller has failed too often. The counts
    (this client's, this key id's, everyone's) and the audit events that count them come in one trip to the
    shared cache: a flood of bad keys costs each of them that trip and the verification's."""
    address = client_address(request)
    window = settings.APIKEYS_AUTH_FAILURE_WINDOW_SECONDS
    client = f"client:{address}"
    scopes = [client, audit.ALL_FAILURES] + ([f"key:{failure.key_id}"] if failure.key_id else [])
    counts, (client_event, flood_event) = caching.count_in_window(*scopes, window=window, recall=(client, audit.FLOOD))
    waits = [caching.retry_after(counts[0], settings.APIKEYS_AUTH_FAILURES_PER_CLIENT, window)]
    if failure.key_id:
        waits.append(caching.retry_after(counts[2], settings.APIKEYS_AUTH_FAILURES_PER_KEY, window))
    if counts[0] == 1:  # one line per client and window: the audit log counts the rest
        log.warning(
            "authentication failed: %s (key id %s, user %s, client %s)",
            failure.reason,
            failure.key_id or "-",
            failure.username or "-",
            address,
        )
    audit.record_failure(
        audit.FailureCounts(address, counts[0], counts[1], client_event, flood_event),
        actor=failure.username,
        key_id=failure.key_id,
        reason=failure.reason,
        path=escape_uri_path(request.path)[:200],  # as sent: a NUL in a path fits no database column
    )
    return max((w for w in waits if w), default=None)


def authenticate_api_key(encoded: str, address: str | None = None) -> ApiKey:
    """The key of an `encoded` credential, used from `address` (its allowlist's judge: None passes none)."""
    try:
        key_id, secret = keys.decode(encoded)
    except keys.MalformedApiKey as exc:
        raise AuthenticationFailed("invalid ApiKey value") from exc
    if keys.fails_checksum(secret):  # a typo or a guess: nothing is read for it
        claimed = key_id if keys.ID_PATTERN.fullmatch(key_id) else ""
        raise AuthenticationFailed(
            "invalid ApiKey value", key_id=claimed, refusal=usage.Refusal.MALFORMED if claimed else "", malformed=True
        )
    # A row becomes objects only once its secret has verified, so that a wrong secret costs what an unknown id
    # does (converting the row's JSON would otherwise tell the two apart).
    found = KEY_WITH_OWNER.fetch(key_id) if len(key_id) <= 64 else None
    if found is None:
        # Spend what a wrong secret for a known key would (a slow hash's caches asked, a hash run), so an
        # unknown id cannot be told from a wrong secret.
        if not keys.is_fast(settings.APIKEYS_HASH_ALGORITHM):
            caching.recall_nothing(secret)
        keys.dummy_verify(secret, settings.APIKEYS_HASH_ALGORITHM)
        raise AuthenticationFailed(f"unable to find apikey with id {key_id}", key_id=key_id[:64])
    if found.column("invalidated"):
        raise AuthenticationFailed(
            f"api key [{key_id}] has been invalidated", key_id=key_id, refusal=usage.Refusal.INVALIDATED
        )
    if not networks.allows(_stored_json(found.column("allowed_ips")), address):
        raise AuthenticationFailed(
            f"api key [{key_id}] may not be used from [{address}]", key_id=key_id, refusal=usage.Refusal.IP_NOT_ALLOWED
        )
    if not _verify_cached(key_id, found.column("hash"), secret):
        raise AuthenticationFailed(
            f"invalid credentials for API key [{key_id}]", key_id=key_id, refusal=usage.Refusal.WRONG_SECRET
        )
    if (key_type := found.column("type")) != KeyType.REST:  # a cross-cluster key is for remote clusters only
        raise AuthenticationFailed(
            f"authentication expected API key type of [rest], but API key [{key_id}] has type [{key_type}]",
            key_id=key_id,
            refusal=usage.Refusal.WRONG_TYPE,
        )
    key = found.load()
    if key.is_expired():
        raise AuthenticationFailed("api key is expired", key_id=key_id, refusal=usage.Refusal.EXPIRED)
    if not key.owner.is_active:
        raise AuthenticationFailed(
            f"the owner of api key [{key_id}] is disabled", key_id=key_id, refusal=usage.Refusal.OWNER_DISABLED
        )
    usage.count(key.id, usage.SUCCESS)
    if caching.first_use_in_interval(key.id):  # written after the response has gone
        used = now_ms()
        after_response(lambda: ApiKey.objects.filter(pk=key_id).record_use(used))
    return key


def _stored_json(value: Any) -> Any:
    """A JSON column as the driver gives it: text (SQLite) or already read."""
    return json.loads(value) if isinstance(value, str) else value


def _verify_cached(key_id: str, stored_hash: str, secret: str) -> bool:
    """Check the secret: a fast hash every time (a salted SHA-256 costs microseconds, a trip to the shared
    cache a tenth of a millisecond), a slow one (argon2id) from what this process or another remembers."""
    if keys.is_fast(stored_hash):
        return keys.verify_secret(secret, stored_hash)
    fingerprint = caching.fingerprint(secret, stored_hash)
    if caching.recalls_key(key_id, fingerprint):
        return True
    if not keys.verify_secret(secret, stored_hash):
        return False
    caching.remember_key(key_id, fingerprint)
    return True


def authenticate_basic(credentials: str) -> User:
    try:
        text = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise AuthenticationFailed("invalid basic authentication header value") from exc
    username, sep, password = text.partition(":")
    # No username holds a NUL, and PostgreSQL would refuse to even look one up.
    if not sep or not username or "\x00" in username:
        raise AuthenticationFailed("invalid basic authentication header value")
    user = User.objects.filter(username=username, external_realm="", is_service_account=False).first()
    if user is None:
        User().set_password(password)  # hash anyway, so an unknown user costs the same time
        raise AuthenticationFailed(
            f"unable to authenticate user [{username}] for REST request [/_security]", username=username
        )
    if not user.is_active or not _password_matches(user, password):
        raise AuthenticationFailed(
            f"unable to authenticate user [{username}] for REST request [/_security]", username=username
        )
    return user


def _password_matches(user: User, password: str) -> bool:
    # The stored hash is part of the fingerprint, so changing the password forgets the cached success.
    fingerprint = caching.fingerprint(password, user.password)
    if caching.recalls_password(user.pk, fingerprint):
        return True
    if not user.check_password(password):
        return False
    caching.remember_password(user.pk, fingerprint)
    return True
