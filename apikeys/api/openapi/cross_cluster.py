"""The cross-cluster key paths of the OpenAPI document: their `access` (the privileges package's own schema) and
certificate identity (Elasticsearch 9.3), on create and update."""

from __future__ import annotations

from typing import Any

from apikeys.api.openapi.keys import CREATE_EXPIRATION, KEY_ID_PARAM, NAME, TAG, UPDATE_EXPIRATION, UPDATE_PROPERTIES
from apikeys.api.openapi.parts import (
    OBJECT,
    Schema,
    answer,
    closed,
    json_body,
    nullable,
    operation,
    param_refs,
    ref,
    response_ref,
)
from apikeys.domain.privileges.cross_cluster import ACCESS_SCHEMA

CERTIFICATE_IDENTITY: Schema = {
    "type": "string",
    "description": "A Java regular expression the Distinguished Name of the remote cluster's certificate must match "
    "(strong identity verification), e.g. `CN=remote,OU=engineering,DC=example,DC=com`. A pattern Java cannot "
    "compile is a 400.",
    "examples": ["CN=remote-.*,OU=engineering,DC=example,DC=com"],
}


def access_schema() -> Schema:
    """The privileges package's schema, embedded: `$schema` belongs only at the root of a schema document."""
    return {k: v for k, v in ACCESS_SCHEMA.items() if k != "$schema"}


SCHEMAS: dict[str, Schema] = {
    "Access": access_schema(),
    "CreateCrossClusterApiKeyRequest": closed(
        {
            "name": NAME,
            "access": ref("Access"),
            "expiration": CREATE_EXPIRATION,
            "metadata": nullable({**OBJECT, "description": "Top-level keys may not start with `_`."}),
            "certificate_identity": nullable(
                {**CERTIFICATE_IDENTITY, "description": f"{CERTIFICATE_IDENTITY['description']} Omitted or null: none."}
            ),
        },
        ("name", "access"),
    ),
    "UpdateCrossClusterApiKeyRequest": closed(
        {
            "access": nullable({"allOf": [ref("Access")], "description": "Replaces the whole access."}),
            "metadata": UPDATE_PROPERTIES["metadata"],
            "expiration": UPDATE_EXPIRATION,
            "certificate_identity": nullable(
                {**CERTIFICATE_IDENTITY, "description": f"{CERTIFICATE_IDENTITY['description']} Null removes it."}
            ),
        },
        # As Elasticsearch 9.3: an expiration alone is no update.
        anyOf=[
            {"required": ["access"], "properties": {"access": OBJECT}},
            {"required": ["metadata"], "properties": {"metadata": OBJECT}},
            {"required": ["certificate_identity"]},
        ],
        description="At least `access`, `metadata` or `certificate_identity` (null removes it); omitted fields stay.",
    ),
}


def paths() -> dict[str, Any]:
    return {
        "/_security/cross_cluster/api_key": {
            "post": operation(
                "createCrossClusterApiKey",
                TAG,
                "Create a cross-cluster API key (for a remote cluster; it cannot call this API)",
                answer("The new key, with its secret.", ref("CreateApiKeyResponse")),
                body=json_body("CreateCrossClusterApiKeyRequest", True),
            )
        },
        "/_security/cross_cluster/api_key/{key_id}": {
            "put": operation(
                "updateCrossClusterApiKey",
                TAG,
                "Update one of the caller's cross-cluster API keys",
                answer("Whether anything changed.", ref("UpdateResponse")),
                body=json_body("UpdateCrossClusterApiKeyRequest", True),
                params=[*param_refs(), KEY_ID_PARAM],
                not_found=response_ref("NotFound"),
            )
        },
    }
