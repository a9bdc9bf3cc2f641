"""The role mapping paths in the OpenAPI document and the schemas of their bodies and answers: the field names
and template formats are the domain module's own (`domain.role_mappings`)."""

from __future__ import annotations

from typing import Any

from apikeys.api.openapi.parts import (
    NOT_FOUND_EMPTY,
    OBJECT,
    STRINGS,
    Schema,
    answer,
    closed,
    found_false,
    json_body,
    operation,
    param_refs,
    path_param,
    ref,
)
from apikeys.domain.role_mappings import RULE_FIELDS, TEMPLATE_FORMATS

FIELD_VALUE: Schema = {"type": ["string", "integer", "boolean", "null"]}


def _one(name: str, schema: Schema) -> Schema:
    return closed({name: schema}, (name,))


SCHEMAS: dict[str, Schema] = {
    "RoleMappingRule": {
        "description": "One of `any`, `all` (whose rules may be `except`), `field`. A field's values match exactly, "
        f"with `*`/`?` wildcards or as a `/regex/`; fields: {', '.join(RULE_FIELDS)}, `metadata.<name>`.",
        "oneOf": [
            _one("any", {"type": "array", "items": ref("RoleMappingRule")}),
            _one("all", {"type": "array", "items": {"anyOf": [ref("RoleMappingRule"), ref("RoleMappingExcept")]}}),
            _one(
                "field",
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "additionalProperties": {"anyOf": [FIELD_VALUE, {"type": "array", "items": FIELD_VALUE}]},
                },
            ),
        ],
    },
    "RoleMappingExcept": _one("except", ref("RoleMappingRule")),
    "RoleTemplate": closed(
        {
            "template": {
                "anyOf": [{"type": "string"}, closed({"source": {"type": "string"}}, ("source",))],
                "description": "Mustache: `{{username}}`, `{{#tojson}}groups{{/tojson}}`, `{{#join}}groups{{/join}}`.",
            },
            "format": {"enum": list(TEMPLATE_FORMATS), "default": "string"},
        },
        ("template",),
    ),
    "RoleMapping": closed(
        {
            "enabled": {"type": "boolean"},
            "roles": STRINGS,
            "role_templates": {"type": "array", "items": ref("RoleTemplate")},
            "rules": ref("RoleMappingRule"),
            "metadata": OBJECT,
        },
        ("enabled", "rules"),
        description="Either `roles` or `role_templates`, not both.",
    ),
    "RoleMappings": {
        "type": "object",
        "description": "Role mapping name -> role mapping.",
        "additionalProperties": {"allOf": [ref("RoleMapping")], "required": ["enabled", "rules", "metadata"]},
    },
    "PutRoleMappingResponse": closed(
        {"role_mapping": closed({"created": {"type": "boolean"}}, ("created",))}, ("role_mapping",)
    ),
}


def paths() -> dict[str, Any]:
    tag = "Role mappings"
    name = path_param("name", "A role mapping name (comma-separated names when getting).")
    put = {
        "ok": answer("Whether the role mapping was created (else replaced).", ref("PutRoleMappingResponse")),
        "body": json_body("RoleMapping", True),
        "params": [*param_refs(), name],
    }
    found = answer("The role mapping was deleted.", ref("FoundResponse"))
    every = answer("Every role mapping.", ref("RoleMappings"))
    return {
        "/_security/role_mapping": {"get": operation("getRoleMappings", tag, "Get every role mapping", every)},
        "/_security/role_mapping/{name}": {
            "get": operation(
                "getRoleMapping",
                tag,
                "Get role mappings by name",
                answer("The role mappings that exist among those named.", ref("RoleMappings")),
                params=[*param_refs(), name],
                not_found=answer("None of the named role mappings exists.", NOT_FOUND_EMPTY),
            ),
            "put": operation("putRoleMapping", tag, "Create or replace a role mapping", **put),
            "post": operation("putRoleMappingWithPost", tag, "Create or replace a role mapping", **put),
            "delete": operation(
                "deleteRoleMapping",
                tag,
                "Delete a role mapping",
                found,
                params=[*param_refs(), name],
                not_found=found_false(),
            ),
        },
    }
