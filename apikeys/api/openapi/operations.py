"""The paths of the operators' endpoints (ours, `x-extension`): Prometheus metrics and the two health checks."""

from __future__ import annotations

from typing import Any

from apikeys.api.openapi.parts import Schema, closed, ref, response_ref
from apikeys.domain.privileges.actions import GRANTED_BY, METRICS_READ
from apikeys.infra import metrics

TAG = "Operations"
SCHEMAS: dict[str, Schema] = {
    "Health": closed({"status": {"const": "ok"}}, ("status",)),
    "Readiness": closed(
        {
            "status": {"enum": ["ready", "unavailable"]},
            "database": {"enum": ["up", "down"]},
            "cache": {
                "enum": ["up", "down", "local"],
                "description": "Redis answering or not (the app is ready either way), or none configured.",
            },
        },
        ("status", "database", "cache"),
    ),
}


def _json(description: str, schema_name: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema_name)}}}


def _operation(operation_id: str, summary: str, description: str, responses: dict[str, Any], **extra: Any):
    return {
        "operationId": operation_id,
        "tags": [TAG],
        "summary": summary,
        "description": f"Our extension: Elasticsearch has no equivalent. {description}",
        "x-extension": True,
        "parameters": [],
        "responses": {**responses, "405": response_ref("MethodNotAllowed")},
        **extra,
    }


def paths() -> dict[str, Any]:
    privileges = ", ".join(f"`{name}`" for name in sorted(GRANTED_BY[METRICS_READ]))
    return {
        "/metrics": {
            "get": _operation(
                "getMetrics",
                "Prometheus metrics: authentications, requests, keys, outages",
                f"For callers holding the cluster privilege {privileges} (or `manage`, `all`), or "
                "`Authorization: Bearer` the token in `APIKEYS_METRICS_TOKEN`. Every gunicorn worker's counts "
                "added up. The metrics are described in the README (Operations).",
                {
                    "200": {
                        "description": "Prometheus' text format.",
                        "content": {metrics.CONTENT_TYPE.split(";")[0]: {"schema": {"type": "string"}}},
                    },
                    "401": response_ref("Unauthenticated"),
                    "403": response_ref("Forbidden"),
                    "429": response_ref("TooManyRequests"),
                },
            )
        },
        "/healthz": {
            "get": _operation(
                "getHealth",
                "Whether the process answers (liveness)",
                "No credentials; no I/O.",
                {"200": _json("The process answers.", "Health")},
                security=[],
            )
        },
        "/readyz": {
            "get": _operation(
                "getReadiness",
                "Whether the process can serve: the database answers (readiness)",
                "No credentials. 503 while the database does not answer within `APIKEYS_READY_TIMEOUT_SECONDS`; "
                "Redis away is reported, not a reason to be unready.",
                {
                    "200": _json("Ready.", "Readiness"),
                    "503": _json("The database does not answer.", "Readiness"),
                },
                security=[],
            )
        },
    }
