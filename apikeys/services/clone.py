"""Cloning a key (Elasticsearch 9.4's `POST /_security/api_key/clone`): a new user key with the role descriptors
of one that exists, owned by the same user, its metadata saying which key it was cloned from (`_cloned_from`).

Through the API, as in Elasticsearch, the caller holds `clone_api_key` and proves it holds the source key by
its credential (`api_key`, encoded): the clone keeps the source's `limited_by` (Kibana clones a user's key so).
The console clones by id, for the key's owner, signed in without the key's secret: that clone is limited by the
owner's roles now, as an update or a roll re-snapshots them, so it can do nothing its owner could not give a key
they create themselves. Both write through `create.insert_key`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from apikeys.access.authentication import authenticate_api_key
from apikeys.access.permissions import Refusal, Refused, clone_refusal
from apikeys.access.principals import Principal
from apikeys.domain import keys
from apikeys.domain.durations import now_ms
from apikeys.domain.errors import ApiError, AuthenticationFailed, Forbidden, ValidationFailed, unsupported_value
from apikeys.domain.privileges import actions
from apikeys.models import ApiKey
from apikeys.records import audit, usage
from apikeys.services.create import CreatedKey, insert_key
from apikeys.services.lifetime import allow_no_expiration, chosen_duration, inherited_expiration
from apikeys.services.validation import (
    KeyRequest,
    reject_unknown_fields,
    require_object,
    validate_expiration,
    validate_metadata,
    validate_name,
)

log = logging.getLogger(__name__)

PARSER = "clone_api_key_request"
CLONE_FIELDS = {"api_key", "name", "expiration", "metadata"}
# The JSON types Elasticsearch's parser takes for each field (`expiration` may also be null: no expiration).
FIELD_TYPES: dict[str, type] = {"api_key": str, "name": str, "metadata": dict, "expiration": str}
# The reserved metadata key naming the key a clone was made from, as Elasticsearch writes it.
CLONED_FROM = "_cloned_from"


@dataclass(frozen=True)
class CloneRequest:
    """A validated clone request. `metadata` None: the source's; `inherits_expiration`: the source's expiration
    (the request named none), else `expiration` (None: never expires)."""

    name: str
    metadata: dict[str, Any] | None
    expiration: datetime | None
    inherits_expiration: bool


def parse_clone_request(body: Any, with_credential: bool = True) -> tuple[str, CloneRequest]:
    """The source's credential (empty without one) and what the clone asks for, every field checked before
    anything is looked up, as Elasticsearch parses and validates before it authorizes."""
    body = require_object(body, PARSER)
    reject_unknown_fields(body, CLONE_FIELDS if with_credential else CLONE_FIELDS - {"api_key"}, PARSER)
    for name, kind in FIELD_TYPES.items():
        if name in body and not isinstance(body[name], kind) and not (name == "expiration" and body[name] is None):
            raise unsupported_value(PARSER, name, body[name])
    inherits = "expiration" not in body
    if inherits or body["expiration"] is None:
        expiration = None
        if not inherits:
            allow_no_expiration()
    else:
        expiration = validate_expiration(chosen_duration(body["expiration"]))
    problems: list[str] = []
    credential = body.get("api_key") or ""
    if with_credential and not credential:
        problems.append("api key credential is required")
    name = metadata = None
    try:
        name = validate_name(body.get("name"))
    except ValidationFailed as error:
        problems.extend(error.problems)
    try:
        metadata = validate_metadata(body["metadata"]) if "metadata" in body else None
    except ValidationFailed as error:
        problems.extend(error.problems)
    if problems:
        raise ValidationFailed(*problems)
    return credential, CloneRequest(name, metadata, expiration, inherits)


def clone_api_key(principal: Principal, body: Any) -> CreatedKey:
    """Elasticsearch's clone: the source named by its credential, which must authenticate (a user key, neither
    invalidated nor expired); the clone is owned by the source's owner and limited as the source is."""
    credential, request = parse_clone_request(body)
    principal.require(actions.API_KEY_CLONE)
    try:
        keys.decode(credential)
    except keys.MalformedApiKey as malformed:
        raise ApiError(f"invalid API key credential: {malformed}", error_type="status_exception") from malformed
    try:
        source = authenticate_api_key(credential, principal.client_address)
    except AuthenticationFailed as failure:
        if failure.refusal:  # counted in the source key's usage, as a refused request with it would be
            usage.count(failure.key_id, failure.refusal)
        # Elasticsearch answers a source that does not authenticate with a 403 that wraps the 401.
        raise Forbidden("Failed to clone API key", caused_by=failure) from failure
    with transaction.atomic():
        source = ApiKey.objects.select_related("owner").get(pk=source.pk)
        return _insert_clone(principal, source, request, source.limited_by)


def clone_own_api_key(principal: Principal, key_id: str, body: Any) -> CreatedKey:
    """The console's clone: one of the caller's own active user keys, by id (`permissions.clone_refusal`); the
    clone is limited by the caller's roles now."""
    _, request = parse_clone_request(body, with_credential=False)
    with transaction.atomic():
        source = ApiKey.objects.filter(pk=key_id, owner=principal.user).select_related("owner").first()
        if source is None:
            raise Refused(Refusal.NOT_FOUND, key_id, verb="clone")
        if refusal := clone_refusal(principal, source, now_ms()):
            raise Refused(refusal, source.id, source.type, verb="clone")
        return _insert_clone(principal, source, request, principal.snapshot())


def _insert_clone(
    principal: Principal, source: ApiKey, request: CloneRequest, limited_by: dict[str, dict]
) -> CreatedKey:
    metadata = source.metadata if request.metadata is None else request.metadata
    key_request = KeyRequest(
        name=request.name,
        expiration=inherited_expiration(source.expiration, now_ms())
        if request.inherits_expiration
        else request.expiration,
        role_descriptors=source.role_descriptors,
        metadata={**metadata, CLONED_FROM: source.id},
        allowed_ips=source.allowed_ips,
    )
    created = insert_key(source.owner, key_request, limited_by, principal, audit.Action.CLONE, cloned_from=source.id)
    log.info("api key cloned id=%s from=%s by=%s", created.key.id, source.id, principal.user.username)
    return created
