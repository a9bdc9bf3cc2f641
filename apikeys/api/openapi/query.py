"""The query API's path in the OpenAPI document (`/_security/_query/api_key`), and the schemas of its body and
answer, read from the query package: its clauses, fields, sort options, page size and result window."""

from __future__ import annotations

from typing import Any

from apikeys.api.openapi.keys import API_KEY_PROPERTIES, API_KEY_REQUIRED, TAG
from apikeys.api.openapi.parts import (
    FLAG,
    OBJECT,
    Schema,
    answer,
    closed,
    json_body,
    nullable,
    operation,
    param_refs,
    query_param,
    ref,
)
from apikeys.query import FIELDS, MAX_RESULT_WINDOW
from apikeys.query.dsl import CLAUSES
from apikeys.query.searching import DEFAULT_SIZE
from apikeys.query.sort import SORT_OPTIONS, SORT_ORDERS

SORT_ORDER: Schema = {"enum": list(SORT_ORDERS)}
SORT_ITEM: Schema = {
    "anyOf": [
        {"type": "string", "description": "A field name, ascending."},
        {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": {
                "anyOf": [
                    SORT_ORDER,
                    # Only `order` is read; the others are accepted as Elasticsearch's clients send them.
                    closed({option: SORT_ORDER if option == "order" else {} for option in sorted(SORT_OPTIONS)}),
                ]
            },
        },
    ]
}
QUERY: Schema = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "description": f"One clause: {', '.join(CLAUSES)}, over {', '.join(FIELDS)}, metadata.<path>.",
}

SCHEMAS: dict[str, Schema] = {
    "ApiKeyHit": closed(
        {
            **API_KEY_PROPERTIES,
            "_sort": {
                "type": "array",
                "items": {"type": ["string", "integer", "boolean", "null"]},
                "description": "Only when the query gave a `sort`: each sort value (dates in epoch ms), then the key id.",
            },
        },
        API_KEY_REQUIRED,
    ),
    "QueryRequest": closed(
        {
            "query": nullable(QUERY),
            "from": {"type": "integer", "minimum": 0, "default": 0},
            "size": {
                "type": "integer",
                "minimum": 0,
                "default": DEFAULT_SIZE,
                "description": f"`from + size` is at most {MAX_RESULT_WINDOW:,}.",
            },
            "sort": nullable({"anyOf": [SORT_ITEM, {"type": "array", "items": SORT_ITEM}]}),
            "search_after": {"type": "array", "description": "The `_sort` of the last hit of the previous page."},
            "aggs": {"type": "object", "additionalProperties": OBJECT},
            "aggregations": {"type": "object", "additionalProperties": OBJECT},
        }
    ),
    "QueryResponse": closed(
        {
            "total": {"type": "integer", "minimum": 0},
            "count": {"type": "integer", "minimum": 0},
            "api_keys": {"type": "array", "items": ref("ApiKeyHit")},
            "aggregations": {**OBJECT, "description": "Only when the request asked for aggregations."},
        },
        ("total", "count", "api_keys"),
    ),
}


def query_params() -> list[dict[str, Any]]:
    return param_refs("with_limited_by", "with_profile_uid") + [
        query_param("typed_keys", FLAG, "Prefix aggregation names with their type (`sterms#name`)."),
    ]


def paths() -> dict[str, Any]:
    search = {
        "ok": answer("The matching keys, a page of them.", ref("QueryResponse")),
        "body": json_body("QueryRequest", False, f"Omitted: every visible key, {DEFAULT_SIZE} at a time."),
        "params": query_params(),
    }
    return {
        "/_security/_query/api_key": {
            "get": operation("queryApiKeys", TAG, "Query API keys", **search),
            "post": operation("queryApiKeysWithPost", TAG, "Query API keys", **search),
        },
    }
