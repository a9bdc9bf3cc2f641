"""The OpenAPI 3.1 document of the JSON API, served at /openapi.json: every path of api_urls.py, with its
parameters, bodies and answers (the API contract: `shared/spec/API.md` beside this repository). `parts` (the
shorthands and the answers every endpoint shares), `keys` (API key paths), `cross_cluster` (cross-cluster key
paths), `query` (the query API), `extensions` (ours: roll, usage), `leaks` (ours: the secrets' format, leak
reports, allowlists), `users`, `security` (everything else around them), `privileges` (the builtin privilege
names and the caller's privileges), `role_mappings`, `operations` (ours: metrics, health checks). Every enum,
default, limit and field name is read from the code that enforces it, so the document cannot say one thing while
the server does another."""

from __future__ import annotations

from typing import Any

from apikeys.api.openapi import (
    cross_cluster,
    extensions,
    keys,
    leaks,
    operations,
    parts,
    privileges,
    query,
    role_mappings,
    security,
    users,
)
from apikeys.api.openapi.parts import PRODUCT_HEADER_NAME, PRODUCT_NAME


def build_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "API key console: Elasticsearch-compatible security API",
            "version": "1.0.0",
            "description": "The paths, bodies and answers of Elasticsearch's security API for API keys, roles "
            f"and users. Every answer carries `{PRODUCT_HEADER_NAME}: {PRODUCT_NAME}`.",
        },
        "security": [{"ApiKey": []}, {"basic": []}, {"bearer": []}],
        "tags": [
            {"name": name}
            for name in (
                "API keys",
                "Authentication",
                "Roles",
                "Users",
                "Role mappings",
                "Application privileges",
                operations.TAG,
            )
        ],
        "paths": {
            **keys.paths(),
            **cross_cluster.paths(),
            **query.paths(),
            **extensions.paths(),
            **leaks.paths(),
            **security.paths(),
            **users.paths(),
            **privileges.paths(),
            **role_mappings.paths(),
            **operations.paths(),
        },
        "components": {
            "schemas": {
                **keys.SCHEMAS,
                **cross_cluster.SCHEMAS,
                **query.SCHEMAS,
                **extensions.SCHEMAS,
                **leaks.SCHEMAS,
                **security.SCHEMAS,
                **users.SCHEMAS,
                **privileges.SCHEMAS,
                **role_mappings.SCHEMAS,
                **operations.SCHEMAS,
                **parts.SCHEMAS,
            },
            "responses": parts.RESPONSES,
            "parameters": parts.PARAMETERS,
            "headers": {
                PRODUCT_HEADER_NAME: {"schema": {"const": PRODUCT_NAME}, "description": f"Always `{PRODUCT_NAME}`."}
            },
            "securitySchemes": {
                "ApiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Authorization: ApiKey <encoded>`, the scheme word included; `encoded` comes "
                    "from the create answer.",
                },
                "basic": {"type": "http", "scheme": "basic", "description": "A native user's username and password."},
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An access token from `POST /_security/oauth2/token`.",
                },
            },
        },
    }
