"""The OpenAPI 3.1 document of the JSON API, served at /openapi.json: every path of api_urls.py, with its
parameters, bodies and answers (the API contract: `shared/spec/API.md` beside this repository). `parts` (the
shorthands and the answers every endpoint shares), `keys` (API key paths), `extensions` (ours: roll, usage), `security` (everything around
them)."""

from __future__ import annotations

from typing import Any

from apikeys.api.openapi import extensions, keys, parts, security


def build_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "API key console: Elasticsearch-compatible security API",
            "version": "1.0.0",
            "description": "The paths, bodies and answers of Elasticsearch's security API for API keys, roles "
            "and users. Every answer carries `X-Elastic-Product: Elasticsearch`.",
        },
        "security": [{"ApiKey": []}, {"basic": []}, {"bearer": []}],
        "tags": [{"name": name} for name in ("API keys", "Authentication", "Roles", "Users", "Application privileges")],
        "paths": {**keys.paths(), **extensions.paths(), **security.paths()},
        "components": {
            "schemas": {**keys.SCHEMAS, **extensions.SCHEMAS, **security.SCHEMAS, **parts.SCHEMAS},
            "responses": parts.RESPONSES,
            "parameters": parts.PARAMETERS,
            "headers": {
                "X-Elastic-Product": {"schema": {"const": "Elasticsearch"}, "description": "Always `Elasticsearch`."}
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
