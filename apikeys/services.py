"""Every write to API keys: create, grant, update, bulk update, invalidate, purge. Each is one transaction.

Services check who may do what (a `Principal`), validate input completely before writing anything, and
raise `ServiceError` with Elasticsearch's words. Views and the JSON API only parse and render.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate as authenticate_password
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from . import audit, keys
from .deferred import after_response
from .durations import InvalidDuration, parse_duration
from .errors import ServiceError
from .lookups import AnyOf
from .models import SERVICE_ACCOUNT_USERNAME, ApiKey, User, is_managed
from .planner import refresh_statistics_if_due
from .principals import Principal, user_roles
from .privileges import InvalidRoleDescriptor, can_run_as, grants_nothing, validate_role_descriptors
from .query import bump_generation, name_filter

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 256
# bulk_update writes one CASE per field per batch: unbatched, 10,000 keys took 118 s on PostgreSQL, not 16 s.
BULK_UPDATE_BATCH = 500
CREATE_FIELDS = {"name", "expiration", "role_descriptors", "metadata"}
UPDATE_FIELDS = {"role_descriptors", "metadata", "expiration"}


def now_ms() -> datetime:
    """The current time at millisecond precision, as Elasticsearch stores it (so `_sort` round-trips)."""
    moment = timezone.now()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# What each process remembers itself, briefly, in front of the shared cache (see auth.py). Bounded in size.
local_cache = LocMemCache("apikeys-local", {"OPTIONS": {"MAX_ENTRIES": 5000}})
# Forgetting more keys than this empties the local cache instead: it holds only a few seconds' worth.
LOCAL_CACHE_DELETES = 100


def by_ids(queryset: QuerySet, ids: list[str]) -> Iterator[QuerySet]:
    """`queryset` narrowed to `ids`, in slices that fit one statement: SQLite's bound-variable limit (999, as
    Django counts it) less room for the statement's other values; PostgreSQL takes 10,000 at once."""
    size = (connection.features.max_query_params or 10_009) - 9
    for start in range(0, len(ids), size):
        yield queryset.filter(AnyOf(F("pk"), ids[start : start + size]))


def auth_cache_key(key_id: str) -> str:
    return f"apikeys:verified:{key_id}"


def evict_from_cache(key_ids: Iterable[str]) -> None:
    """Forget verified secrets in the shared cache and in this process; other processes forget theirs
    within seconds, and meanwhile still compare the secret's fingerprint and read the key's row."""
    names = [auth_cache_key(i) for i in key_ids]
    cache.delete_many(names)
    if len(names) > LOCAL_CACHE_DELETES:
        local_cache.clear()
    else:
        local_cache.delete_many(names)


def keys_changed(key_ids: list[str]) -> None:
    """Forget what caches know of these keys (verified secrets, counts) once the change is committed.
    Before that, the old state is still the truth; and verification reads the key's row on every request,
    so an invalidated key is refused at once whatever the cache holds. That is also why the verified
    secrets can be forgotten after the response has gone (10,000 of them take a tenth of a second or more);
    the counts are forgotten before it, so the next page shows the change."""

    def forget() -> None:
        bump_generation()
        after_response(lambda: evict_from_cache(key_ids))
        after_response(refresh_statistics_if_due)

    transaction.on_commit(forget)


# --- Validation (shared by the API and the console forms) ---------------------------------------------


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ServiceError.validation("api key name is required")
    problems = []
    if len(name) > MAX_NAME_LENGTH:
        problems.append(f"api key name may not be more than [{MAX_NAME_LENGTH}] characters long")
    if name != name.strip():
        problems.append("api key name may not begin or end with whitespace")
    if name.startswith("_"):
        problems.append("api key name may not begin with an underscore")
    if any(unicodedata.category(c) == "Cc" for c in name):
        problems.append("api key name may not contain control characters")
    if problems:
        raise ServiceError.validation(*problems)
    return name


def validate_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ServiceError.parse("[metadata] must be an object")
    reserved = sorted(k for k in metadata if k.startswith("_"))
    if reserved:
        raise ServiceError.validation(f"API key metadata keys may not start with [_]: [{reserved[0]}]")
    return metadata


def validate_expiration(expiration: Any) -> datetime | None:
    """The expiry moment for a duration string, or None (never expires)."""
    if expiration is None:
        return None
    try:
        seconds = parse_duration(expiration)
    except InvalidDuration as exc:
        raise ServiceError(str(exc), "illegal_argument_exception") from exc
    try:
        return now_ms() + timedelta(seconds=seconds)
    except OverflowError as exc:  # beyond the year 9999
        raise ServiceError(
            f"failed to parse setting [expiration] with value [{expiration}] as a time value: value is too large",
            "illegal_argument_exception",
        ) from exc


def validate_descriptors(value: Any) -> dict[str, dict]:
    if value is None:
        return {}
    try:
        return validate_role_descriptors(value)
    except InvalidRoleDescriptor as exc:
        raise ServiceError(
            str(exc),
            "parse_exception" if "unexpected field" in str(exc) else "illegal_argument_exception",
            path=exc.path,
        ) from exc


def _require_object(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ServiceError.parse(f"request body for [{what}] must be a JSON object")
    return body


def _reject_unknown(body: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ServiceError.parse(f"[{what}] unknown field [{unknown[0]}]")


# --- Create and grant -------------------------------------------------------------------------------------


@dataclass
class CreatedKey:
    key: ApiKey
    secret: str

    @property
    def encoded(self) -> str:
        return keys.encode(self.key.id, self.secret)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.key.id, "name": self.key.name}
        if self.key.expiration:
            out["expiration"] = int(self.key.expiration.timestamp() * 1000)
        out["api_key"] = self.secret
        out["encoded"] = self.encoded
        return out


@dataclass(frozen=True)
class KeyRequest:
    """A validated create request: nothing is written until every field has passed."""

    name: str
    expiration: datetime | None
    role_descriptors: dict[str, dict]
    metadata: dict[str, Any]


def parse_key_request(body: Any, what: str = "create_api_key") -> KeyRequest:
    body = _require_object(body, what)
    _reject_unknown(body, CREATE_FIELDS, what)
    return KeyRequest(
        name=validate_name(body.get("name")),
        expiration=validate_expiration(body.get("expiration")),
        role_descriptors=validate_descriptors(body.get("role_descriptors")),
        metadata=validate_metadata(body.get("metadata")),
    )


def _insert_key(
    owner: User,
    request: KeyRequest,
    limited_by: dict[str, dict],
    by: Principal | None,
    action: str = audit.Action.CREATE,
) -> CreatedKey:
    secret = keys.generate_secret()
    key = ApiKey.objects.create(
        id=keys.generate_id(),
        name=request.name,
        owner=owner,
        username=owner.username,
        realm=owner.realm,
        creation=now_ms(),
        expiration=request.expiration,
        hash=keys.hash_secret(secret, settings.APIKEYS_HASH_ALGORITHM),
        role_descriptors=request.role_descriptors,
        limited_by=limited_by,
        metadata=request.metadata,
    )
    audit.record(
        action,
        actor=by.user.username if by else "system",
        key_id=key.id,
        target=key.name,
        client_address=by.client_address if by else None,
        owner=owner.username,
    )
    keys_changed([])
    log.info("api key created id=%s name=%r owner=%s", key.id, key.name, owner.username)
    return CreatedKey(key, secret)


def create_api_key(principal: Principal, body: Any) -> CreatedKey:
    if not principal.can_manage_own_keys:
        raise ServiceError.unauthorized("cluster:admin/xpack/security/api_key/create", principal.user.username)
    request = parse_key_request(body)
    if principal.api_key is not None and (
        not request.role_descriptors or not all(grants_nothing(d) for d in request.role_descriptors.values())
    ):
        raise ServiceError(
            "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)"
        )
    with transaction.atomic():
        return _insert_key(principal.user, request, principal.snapshot(), principal)


GRANT_FIELDS = {"grant_type", "username", "password", "run_as", "api_key"}


def grant_api_key(principal: Principal, body: Any) -> CreatedKey:
    if not principal.has_cluster("grant_api_key"):
        raise ServiceError.unauthorized("cluster:admin/xpack/security/api_key/grant", principal.user.username)
    body = _require_object(body, "grant_api_key")
    _reject_unknown(body, GRANT_FIELDS, "grant_api_key")
    problems = []
    if body.get("grant_type") != "password":
        problems.append("[grant_type] must be [password]" if body.get("grant_type") else "[grant_type] is required")
    for field in ("username", "password"):
        if not isinstance(body.get(field), str) or not body.get(field):
            problems.append(f"[{field}] is required for grant_type [password]")
    if not isinstance(body.get("api_key"), Mapping):
        problems.append("[api_key] is required")
    if problems:
        raise ServiceError.validation(*problems)
    request = parse_key_request(body["api_key"], "grant_api_key.api_key")
    user = authenticate_password(username=body["username"], password=body["password"])
    if user is None or not user.is_active or user.is_service_account:
        raise ServiceError(
            f"unable to authenticate user [{body['username']}] for action [grant_api_key]", "security_exception", 403
        )
    owner = user
    if body.get("run_as") is not None:
        run_as = body["run_as"]
        granted = Principal.for_user(user)
        target = User.objects.filter(username=run_as, is_active=True, is_service_account=False).first()
        if target is None or not can_run_as(granted.role_sets, str(run_as)):
            raise ServiceError(
                f"action [grant_api_key] is unauthorized for user [{user.username}] run as [{run_as}]",
                "security_exception",
                403,
            )
        owner = target
    with transaction.atomic():
        return _insert_key(owner, request, user_roles(owner), principal, audit.Action.GRANT)


def create_managed_api_key(name: str, expiration: str | None = None) -> CreatedKey:
    """A key the system owns for its own background tasks (`metadata.managed: true`)."""
    request = KeyRequest(validate_name(name), validate_expiration(expiration), {}, {"managed": True})
    with transaction.atomic():
        account, _ = User.objects.get_or_create(
            username=SERVICE_ACCOUNT_USERNAME,
            defaults={"is_service_account": True, "full_name": "Console service account"},
        )
        if account.has_usable_password():
            account.set_unusable_password()
            account.save(update_fields=["password"])
        return _insert_key(account, request, {}, None)


# --- Update -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateRequest:
    role_descriptors: dict[str, dict] | None
    metadata: dict[str, Any] | None
    expiration: datetime | None
    expiration_given: bool


def parse_update(body: Any, allowed: set[str] = UPDATE_FIELDS, what: str = "update_api_key") -> UpdateRequest:
    body = _require_object(body if body is not None else {}, what)
    _reject_unknown(body, allowed, what)
    return UpdateRequest(
        role_descriptors=validate_descriptors(body["role_descriptors"])
        if body.get("role_descriptors") is not None
        else None,
        metadata=validate_metadata(body["metadata"]) if body.get("metadata") is not None else None,
        expiration=validate_expiration(body.get("expiration")),
        expiration_given=body.get("expiration") is not None,
    )


def _check_can_update(principal: Principal) -> None:
    if principal.api_key is not None:
        raise ServiceError("authentication via API key not supported: only the owner user can update an API key")
    if not principal.can_manage_own_keys:
        raise ServiceError.unauthorized("cluster:admin/xpack/security/api_key/update", principal.user.username)


def _apply_update(key: ApiKey, request: UpdateRequest, snapshot: dict[str, dict], now: datetime) -> bool:
    """Change `key` in memory; True when anything differs. The caller saves."""
    if key.invalidated:
        raise ServiceError(f"cannot update invalidated API key [{key.id}]")
    if key.is_expired(now):
        raise ServiceError(f"cannot update expired API key [{key.id}]")
    if key.managed:
        raise ServiceError(f"cannot update managed API key [{key.id}]")
    changed = False
    if request.role_descriptors is not None and request.role_descriptors != key.role_descriptors:
        key.role_descriptors, changed = request.role_descriptors, True
    if request.metadata is not None and request.metadata != key.metadata:
        key.metadata, changed = request.metadata, True
        key.managed = is_managed(key.metadata)
    if request.expiration_given:
        key.expiration, changed = request.expiration, True
    if snapshot != key.limited_by:
        key.limited_by, changed = snapshot, True
    return changed


UPDATED_FIELDS = ["role_descriptors", "metadata", "managed", "expiration", "limited_by"]


def update_api_key(principal: Principal, key_id: str, body: Any) -> bool:
    _check_can_update(principal)
    request = parse_update(body)
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(pk=key_id, owner=principal.user).first()
        if key is None:
            raise ServiceError.not_found(f"no API key owned by requesting user found for ID [{key_id}]")
        changed = _apply_update(key, request, principal.snapshot(), now_ms())
        if changed:
            key.save(update_fields=UPDATED_FIELDS)
            audit.record(
                audit.Action.UPDATE,
                actor=principal.user.username,
                key_id=key.id,
                target=key.name,
                client_address=principal.client_address,
            )
            keys_changed([key.id])
            log.info("api key updated id=%s owner=%s", key.id, principal.user.username)
    return changed


def bulk_update_api_keys(principal: Principal, body: Any) -> dict[str, Any]:
    _check_can_update(principal)
    body = _require_object(body, "bulk_update_api_keys")
    ids = body.get("ids")
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ServiceError.validation("field [ids] must be a non-empty array of API key IDs")
    if not ids:
        raise ServiceError.validation("Field [ids] cannot be an empty array")
    request = parse_update({k: v for k, v in body.items() if k != "ids"}, what="bulk_update_api_keys")
    unique = list(dict.fromkeys(ids))
    updated, noops, errors = [], [], {}
    now = now_ms()
    snapshot = principal.snapshot()
    with transaction.atomic():
        found = {}
        for chunk in by_ids(ApiKey.objects.select_for_update().filter(owner=principal.user), unique):
            found.update((k.id, k) for k in chunk)
        changed_keys = []
        for key_id in unique:
            key = found.get(key_id)
            if key is None:
                errors[key_id] = _error_dict(
                    ServiceError.not_found(f"no API key owned by requesting user found for ID [{key_id}]")
                )
                continue
            try:
                changed = _apply_update(key, request, snapshot, now)
            except ServiceError as exc:
                errors[key_id] = _error_dict(exc)
                continue
            (updated if changed else noops).append(key_id)
            if changed:
                changed_keys.append(key)
        if changed_keys:
            ApiKey.objects.bulk_update(changed_keys, UPDATED_FIELDS, batch_size=BULK_UPDATE_BATCH)
            audit.record_many(
                audit.Action.UPDATE,
                principal.user.username,
                [(k.id, k.name) for k in changed_keys],
                principal.client_address,
            )
            keys_changed(updated)
    result: dict[str, Any] = {"updated": updated, "noops": noops}
    if errors:
        result["errors"] = {"count": len(errors), "details": errors}
    return result


def _error_dict(exc: ServiceError) -> dict[str, Any]:
    return {"type": exc.error_type, "reason": exc.reason}


def record_last_used(key_ids: list[str], when: datetime | None = None) -> None:
    ApiKey.objects.filter(pk__in=key_ids).update(last_used=when or now_ms())


# --- Invalidate and purge ---------------------------------------------------------------------------------

INVALIDATE_FIELDS = {"ids", "id", "name", "username", "realm_name", "owner"}


def parse_invalidate(body: Any) -> dict[str, Any]:
    body = _require_object(body, "invalidate_api_key")
    _reject_unknown(body, INVALIDATE_FIELDS, "invalidate_api_key")
    for field in ("id", "name", "username", "realm_name"):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise ServiceError.parse(f"[invalidate_api_key] field [{field}] must be a string")
    ids = body.get("ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise ServiceError.parse("[invalidate_api_key] field [ids] must be an array of strings")
    owner = body.get("owner", False)
    if not isinstance(owner, bool):
        raise ServiceError.parse("[invalidate_api_key] field [owner] must be a boolean")
    problems = []
    if body.get("id") is not None and ids is not None:
        problems.append("Must use either [id] or [ids], not both at the same time")
    if ids is not None and not ids:
        problems.append("Field [ids] cannot be an empty array")
    all_ids = ids if ids is not None else ([body["id"]] if body.get("id") else None)
    if all_ids and body.get("name"):
        problems.append("only one of [api key id(s), api key name] can be specified")
    if owner and (body.get("username") or body.get("realm_name")):
        problems.append("username or realm name must not be specified when the current user's API keys are requested")
    if (
        not owner
        and not (all_ids or body.get("name") or body.get("username") or body.get("realm_name"))
        and not problems
    ):
        problems.append(
            "One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false"
        )
    if problems:
        raise ServiceError.validation(*problems)
    return {
        "ids": all_ids,
        "name": body.get("name") or None,
        "username": body.get("username") or None,
        "realm_name": body.get("realm_name") or None,
        "owner": owner,
    }


def invalidation_scope(principal: Principal, selectors: Mapping[str, Any], action: str) -> QuerySet:
    """The keys a principal may touch that match the selectors; 403 when it may touch none of them."""
    user = principal.user
    scope = principal.deletable_keys()
    named_other = selectors.get("username") not in (None, user.username) or selectors.get("realm_name") not in (
        None,
        user.realm,
    )
    if scope is None or (named_other and not principal.can_manage_all_keys):
        raise ServiceError.unauthorized(action, user.username)
    if selectors.get("owner"):
        scope = scope.filter(owner=user)
    if selectors.get("username"):
        scope = scope.filter(username=selectors["username"])
    if selectors.get("realm_name"):
        scope = scope.filter(realm=selectors["realm_name"])
    if selectors.get("name"):
        scope = scope.filter(name_filter(selectors["name"]))
    return scope


def invalidate_api_keys(principal: Principal, body: Any) -> dict[str, Any]:
    selectors = parse_invalidate(body)
    scope = invalidation_scope(principal, selectors, "cluster:admin/xpack/security/api_key/invalidate")
    return invalidate_keys(scope, selectors["ids"], principal)


def invalidate_keys(scope: QuerySet, ids: list[str] | None, principal: Principal) -> dict[str, Any]:
    """Invalidate the keys of `scope` (restricted to `ids` when given): one set-based transaction."""
    now = now_ms()
    newly: list[str] = []
    before: list[str] = []
    with transaction.atomic():
        if ids is None:
            rows = list(scope.select_for_update().values_list("id", "invalidated", "name"))
        else:
            rows = []
            for chunk in by_ids(scope.select_for_update(), list(dict.fromkeys(ids))):
                rows += list(chunk.values_list("id", "invalidated", "name"))
        names = {}
        for key_id, invalidated, name in rows:
            (before if invalidated else newly).append(key_id)
            names[key_id] = name
        for chunk in by_ids(ApiKey.objects.all(), newly):
            chunk.update(invalidated=True, invalidation=now)
        if newly:
            audit.record_many(
                audit.Action.INVALIDATE,
                principal.user.username,
                [(i, names[i]) for i in newly],
                principal.client_address,
            )
            keys_changed(newly)
            transaction.on_commit(lambda: after_response(purge_if_due))
    if newly:
        log.info("api keys invalidated count=%d by=%s", len(newly), principal.user.username)
    return {"invalidated_api_keys": newly, "previously_invalidated_api_keys": before, "error_count": 0}


def purge_if_due() -> int:
    """Run the retention purge at most once per interval, whichever process or worker asks first."""
    if cache.add("apikeys:purge-due", 1, timeout=settings.APIKEYS_PURGE_INTERVAL_SECONDS):
        return purge_api_keys()
    return 0


def purge_api_keys(now: datetime | None = None, retention_days: int | None = None) -> int:
    """Delete for good the keys invalidated or expired longer ago than the retention period."""
    days = settings.APIKEYS_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    with transaction.atomic():
        doomed = ApiKey.objects.filter(Q(invalidated=True, invalidation__lt=cutoff) | Q(expiration__lt=cutoff))
        gone = list(doomed.values_list("id", "name"))
        ids = [key_id for key_id, _ in gone]
        for chunk in by_ids(ApiKey.objects.all(), ids):
            chunk.delete()
        if gone:
            audit.record_many(audit.Action.PURGE, "system", gone)
            keys_changed(ids)
    if ids:
        log.info("api keys purged count=%d retention_days=%d", len(ids), days)
    return len(ids)
