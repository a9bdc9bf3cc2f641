"""What a create or update request may hold, checked completely before anything is written. The console's
forms call the same validators, so the console and the API accept and refuse exactly the same things."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apikeys.domain.durations import now_ms, parse_duration
from apikeys.domain.errors import ApiError, ParseFailed, ValidationFailed, reject_unknown
from apikeys.domain.networks import parse_allowlist
from apikeys.domain.privileges import cross_cluster, validate_role_descriptors
from apikeys.models import KeyType
from apikeys.services.lifetime import chosen_duration

MAX_NAME_LENGTH = 256
CREATE_FIELDS = {"name", "expiration", "role_descriptors", "metadata", "allowed_ips"}
UPDATE_FIELDS = {"role_descriptors", "metadata", "expiration", "allowed_ips"}
CROSS_CLUSTER_FIELDS = {"name", "expiration", "access", "metadata", "certificate_identity"}
CROSS_CLUSTER_UPDATE_FIELDS = {"access", "metadata", "expiration", "certificate_identity"}


def require_object(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ParseFailed(f"request body for [{what}] must be a JSON object")
    return body


def reject_unknown_fields(body: Mapping[str, Any], allowed: set[str], what: str) -> None:
    reject_unknown(body, allowed, f"[{what}] unknown field [{{}}]")


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ValidationFailed("api key name is required", path="name")
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
        raise ValidationFailed(*problems, path="name")
    return name


# Top-level metadata keys that start so are the server's (a clone's `_cloned_from`): nobody else writes them.
RESERVED_METADATA_PREFIX = "_"


def split_metadata(metadata: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(What the key's users wrote, what the server wrote)."""
    reserved = {k: v for k, v in metadata.items() if k.startswith(RESERVED_METADATA_PREFIX)}
    return {k: v for k, v in metadata.items() if k not in reserved}, reserved


def validate_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ParseFailed("[metadata] must be an object")
    reserved = sorted(split_metadata(metadata)[1])
    if reserved:
        raise ValidationFailed(f"API key metadata keys may not start with [_]: [{reserved[0]}]", path=reserved[0])
    return metadata


def validate_expiration(expiration: Any) -> datetime | None:
    """The expiry moment for a duration string, or None (never expires)."""
    if expiration is None:
        return None
    seconds = parse_duration(expiration)
    try:
        return now_ms() + timedelta(seconds=seconds)
    except OverflowError as exc:  # beyond the year 9999
        raise ApiError(
            f"failed to parse setting [expiration] with value [{expiration}] as a time value: value is too large"
        ) from exc


def validate_descriptors(value: Any) -> dict[str, dict]:
    return {} if value is None else validate_role_descriptors(value)


@dataclass(frozen=True)
class KeyRequest:
    """A validated create request: nothing is written until every field has passed. A cross-cluster key's
    role descriptors are the one Elasticsearch builds from its `access`."""

    name: str
    expiration: datetime | None
    role_descriptors: dict[str, dict]
    metadata: dict[str, Any]
    type: str = KeyType.REST
    access: dict[str, Any] = field(default_factory=dict)
    certificate_identity: str | None = None
    allowed_ips: list[str] | None = None


def parse_key_request(body: Any, what: str = "create_api_key") -> KeyRequest:
    body = require_object(body, what)
    reject_unknown_fields(body, CREATE_FIELDS, what)
    return KeyRequest(
        name=validate_name(body.get("name")),
        expiration=validate_expiration(chosen_duration(body.get("expiration"))),
        role_descriptors=validate_descriptors(body.get("role_descriptors")),
        metadata=validate_metadata(body.get("metadata")),
        allowed_ips=parse_allowlist(body.get("allowed_ips")),
    )


def parse_cross_cluster_request(body: Any) -> KeyRequest:
    what = "create_cross_cluster_api_key"
    body = require_object(body, what)
    reject_unknown_fields(body, CROSS_CLUSTER_FIELDS, what)
    name = validate_name(body.get("name"))
    access = cross_cluster.validate_access(body.get("access"))
    return KeyRequest(
        name=name,
        expiration=validate_expiration(chosen_duration(body.get("expiration"))),
        role_descriptors=cross_cluster.role_descriptors(access),
        metadata=validate_metadata(body.get("metadata")),
        type=KeyType.CROSS_CLUSTER,
        access=access,
        certificate_identity=cross_cluster.validate_certificate_identity(body.get("certificate_identity"), what),
    )


@dataclass(frozen=True)
class UpdateRequest:
    role_descriptors: dict[str, dict] | None
    metadata: dict[str, Any] | None
    expiration: datetime | None
    expiration_given: bool
    access: dict[str, Any] | None = None
    # A cross-cluster key's: given (a pattern, or None to remove it) or absent (kept).
    certificate_identity: str | None = None
    certificate_identity_given: bool = False
    # Given (a list; empty: anywhere) or absent (kept).
    allowed_ips: list[str] | None = None
    allowed_ips_given: bool = False


def parse_update(body: Any, allowed: set[str] = UPDATE_FIELDS, what: str = "update_api_key") -> UpdateRequest:
    body = require_object(body if body is not None else {}, what)
    reject_unknown_fields(body, allowed, what)
    return UpdateRequest(
        role_descriptors=validate_descriptors(body["role_descriptors"])
        if body.get("role_descriptors") is not None
        else None,
        metadata=validate_metadata(body["metadata"]) if body.get("metadata") is not None else None,
        expiration=validate_expiration(chosen_duration(body.get("expiration"), creating=False)),
        expiration_given=body.get("expiration") is not None,
        allowed_ips=parse_allowlist(body.get("allowed_ips")),
        allowed_ips_given=body.get("allowed_ips") is not None,
    )


def parse_cross_cluster_update(body: Any) -> UpdateRequest:
    what = "update_cross_cluster_api_key"
    body = require_object(body if body is not None else {}, what)
    reject_unknown_fields(body, CROSS_CLUSTER_UPDATE_FIELDS, what)
    # As in Elasticsearch 9.3: an expiration alone is no update; `certificate_identity: null` is one (a removal),
    # a null access or metadata is not.
    if body.get("access") is None and body.get("metadata") is None and "certificate_identity" not in body:
        raise ValidationFailed(
            "must update  [access] or [metadata] or [certificate_identity] for cross-cluster API keys"
        )
    access = cross_cluster.validate_access(body["access"]) if body.get("access") is not None else None
    return UpdateRequest(
        role_descriptors=cross_cluster.role_descriptors(access) if access is not None else None,
        metadata=validate_metadata(body["metadata"]) if body.get("metadata") is not None else None,
        expiration=validate_expiration(chosen_duration(body.get("expiration"), creating=False)),
        expiration_given=body.get("expiration") is not None,
        access=access,
        certificate_identity=cross_cluster.validate_certificate_identity(body.get("certificate_identity"), what),
        certificate_identity_given="certificate_identity" in body,
    )
