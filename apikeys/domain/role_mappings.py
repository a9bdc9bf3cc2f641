"""Role mappings as Elasticsearch has them: a body checked field by field (its words and error types), rules
(`any`, `all`, `field`, `except`) parsed into a tree and matched against what a realm says of a user, and
the roles a user holds from the union of the enabled mappings that match."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apikeys.domain import mustache
from apikeys.domain.errors import ApiError, ParseFailed, ValidationFailed
from apikeys.domain.privileges.patterns import pattern_matches

MAPPING_FIELDS = ("enabled", "roles", "role_templates", "rules", "metadata")
# The user fields a rule may test; `metadata.<name>` too. Any other field name is allowed and never matches.
RULE_FIELDS = ("username", "dn", "groups", "realm.name")


class RuleParseError(ApiError):
    """A `rules` expression Elasticsearch's parser refuses (`parse_exception`); `path` is where, JSON-pointer style."""

    error_type = "parse_exception"

    def __init__(self, problem: str, path: str):
        super().__init__(f"failed to parse rules expression. {problem}", path=path)


# --- What a realm says of a user ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserData:
    """The user a mapping is evaluated for: ES's `UserRoleMapper.UserData`."""

    username: str
    realm: str
    groups: tuple[str, ...] = ()
    dn: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def values(self, name: str) -> list[Any]:
        """Every value of a rule's field for this user (a list field gives each of its items)."""
        if name == "username":
            found: Any = self.username
        elif name == "dn":
            found = self.dn
        elif name == "groups":
            found = list(self.groups)
        elif name == "realm.name":
            found = self.realm
        elif name.startswith("metadata."):
            found = self.metadata.get(name.removeprefix("metadata."))
        else:
            return []
        return found if isinstance(found, list) else [found]

    def template_model(self) -> dict[str, Any]:
        """What a role template's mustache sees."""
        return {
            "username": self.username,
            "dn": self.dn,
            "groups": list(self.groups),
            "metadata": dict(self.metadata),
            "realm": {"name": self.realm},
        }


# --- Rules ----------------------------------------------------------------------------------------------------


def _value_matches(expected: Any, actual: Any) -> bool:
    """A field value against one of the user's: exact, `*`/`?` wildcards or `/regex/` for strings; equal
    otherwise (a number, a boolean, null). A boolean is never equal to a number, as in Java."""
    if isinstance(expected, str):
        if not isinstance(actual, str):
            return False
        if expected.startswith("/") and expected.endswith("/") and len(expected) > 1:
            return pattern_matches(expected, actual)
        if "*" in expected or "?" in expected:
            return pattern_matches(expected, actual)
        return expected == actual
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return expected == actual


def matches(rule: Mapping[str, Any], user: UserData) -> bool:
    """Whether a parsed rule (`parse_rules`) holds for `user`."""
    (kind, body) = next(iter(rule.items()))
    if kind == "any":
        return any(matches(r, user) for r in body)
    if kind == "all":
        return all(matches(r, user) for r in body)
    if kind == "except":
        return not matches(body, user)
    (name, expected) = next(iter(body.items()))
    wanted = expected if isinstance(expected, list) else [expected]
    return any(_value_matches(e, actual) for e in wanted for actual in user.values(name))


def _token(value: Any) -> str:
    """A JSON value as Elasticsearch's parser names its token in refusals."""
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if value is None:
        return "VALUE_NULL"
    return "VALUE_NUMBER"


def _field_value(value: Any, path: str) -> Any:
    if isinstance(value, (dict, list)):
        raise RuleParseError(f"expected a field value but found [{_token(value)}] instead", path)
    if isinstance(value, float):
        return int(value)  # Elasticsearch reads a number as a long
    return value


def _parse(rule: Any, name: str, path: str, allow_except: bool) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise RuleParseError(f"expected [{name}] to be an object but found [{_token(rule)}] instead", path)
    if not rule:
        raise RuleParseError(f"object [{name}] does not contain any fields", path)
    if len(rule) > 1:
        raise RuleParseError(f"object [{name}] contains multiple fields", path)
    (kind, body) = next(iter(rule.items()))
    here = f"{path}/{kind}"
    if kind in ("any", "all"):
        if not isinstance(body, list):
            raise RuleParseError(f"field [{kind}] requires an array", here)
        return {kind: [_parse(r, kind, f"{here}/{i}", kind == "all") for i, r in enumerate(body)]}
    if kind == "field":
        if not isinstance(body, dict):
            raise RuleParseError(f"expected an object but found [{_token(body)}] instead", here)
        if not body:
            raise RuleParseError("object [field] does not contain any fields", here)
        if len(body) > 1:
            raise RuleParseError("object [field] contains multiple fields", here)
        (name, values) = next(iter(body.items()))
        at = f"{here}/{name}"
        if isinstance(values, list):
            return {"field": {name: [_field_value(v, f"{at}/{i}") for i, v in enumerate(values)]}}
        return {"field": {name: _field_value(values, at)}}
    if kind == "except":
        if not allow_except:
            raise RuleParseError(f"field [except] is not allowed within [{name}]", here)
        if not isinstance(body, dict):
            raise RuleParseError(f"expected an object but found [{_token(body)}] instead", here)
        return {"except": _parse(body, "except", here, False)}
    raise RuleParseError(f"field [{kind}] is not recognised in object [{name}]", here)


def parse_rules(rules: Any) -> dict[str, Any]:
    """A `rules` expression checked as Elasticsearch's parser checks it; the same tree, numbers as integers."""
    return _parse(rules, "rules", "/rules", False)


def summary(rule: Mapping[str, Any]) -> str:
    """One line for a person: `groups = staff and not username = bob`."""
    (kind, body) = next(iter(rule.items()))
    if kind in ("any", "all"):
        joined = f" {'or' if kind == 'any' else 'and'} ".join(summary(r) for r in body)
        return f"({joined})" if len(body) > 1 else joined or ("nothing" if kind == "any" else "everyone")
    if kind == "except":
        return f"not {summary(body)}"
    (name, values) = next(iter(body.items()))
    shown = ", ".join(str(v) for v in (values if isinstance(values, list) else [values]))
    return f"{name} = {shown}"


# --- Role templates -------------------------------------------------------------------------------------------

TEMPLATE_FORMATS = ("string", "json")


def _parse_template(entry: Any, path: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ParseFailed("[role-mapping] role_templates must be objects", path=path)
    unknown = sorted(set(entry) - {"template", "format"})
    if unknown:
        raise ParseFailed(f"[role-template] unknown field [{unknown[0]}]", path=f"{path}/{unknown[0]}")
    template = entry.get("template")
    source = template.get("source") if isinstance(template, dict) else template
    if not isinstance(source, str):
        raise ParseFailed("[role-template] the [template] needs a [source] string", path=f"{path}/template")
    if isinstance(template, dict) and set(template) - {"source", "lang", "options", "params"}:
        raise ParseFailed("[role-template] [template] holds only [source]", path=f"{path}/template")
    template_format = entry.get("format", "string")
    if template_format not in TEMPLATE_FORMATS:
        raise ParseFailed(f"[role-template] unknown format [{template_format}]", path=f"{path}/format")
    try:
        mustache.check(source)
    except mustache.TemplateError as exc:
        raise ApiError(
            f"failed to compile role template: {exc}", path=f"{path}/template", error_type="general_script_exception"
        ) from exc
    return {"template": {"source": source}, "format": template_format}


def template_role_names(entry: Mapping[str, Any], user: UserData) -> list[str]:
    """The role names one template gives `user`: the text itself (`string`), or the names it is as JSON
    (`json`: a string or an array of strings; anything else gives none, as in Elasticsearch)."""
    text = mustache.render(entry["template"]["source"], user.template_model())
    if entry.get("format", "string") == "string":
        return [text] if text else []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


# --- A whole mapping ------------------------------------------------------------------------------------------


def _string_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ParseFailed(f"[role-mapping] failed to parse field [{name}]", path=f"/{name}")
    return list(value)


def validate_mapping(name: str, body: Any) -> dict[str, Any]:
    """A role mapping body checked as Elasticsearch checks it (the parser's refusals first, then the request's
    validation, every problem at once); the mapping to store."""
    if not isinstance(body, dict):
        raise ParseFailed("request body must be a JSON object")
    unknown = sorted(set(body) - set(MAPPING_FIELDS))
    if unknown:
        raise ParseFailed(f"[role-mapping] unknown field [{unknown[0]}]", path=f"/{unknown[0]}")
    if "enabled" in body and not isinstance(body["enabled"], bool):
        raise ParseFailed("[role-mapping] failed to parse field [enabled]", path="/enabled")
    roles = _string_list(body["roles"], "roles") if "roles" in body else None
    templates = None
    if "role_templates" in body:
        if not isinstance(body["role_templates"], list):
            raise ParseFailed("[role-mapping] failed to parse field [role_templates]", path="/role_templates")
        templates = [_parse_template(t, f"/role_templates/{i}") for i, t in enumerate(body["role_templates"])]
    try:
        rules = parse_rules(body["rules"]) if "rules" in body else None
    except RuleParseError as error:  # as Elasticsearch's object parser wraps its rules parser's refusal
        raise ParseFailed("[role-mapping] failed to parse field [rules]", path=error.path, caused_by=error) from error
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ParseFailed("[role-mapping] failed to parse field [metadata]", path="/metadata")
    for field_name, missing in (("roles", roles is None and templates is None), ("rules", rules is None)):
        if missing:
            raise ApiError(
                f"failed to parse role-mapping [{name}]. missing field [{field_name}]",
                path=f"/{field_name}",
                error_type="parsing_exception",
            )
    if "enabled" not in body:
        raise ApiError(
            f"failed to parse role-mapping [{name}]. missing field [enabled]",
            path="/enabled",
            error_type="parsing_exception",
        )
    problems = []
    if not roles and not templates:
        problems.append("role-mapping roles or role-templates are missing")
    if roles and templates:
        problems.append("role-mapping cannot have both roles and role-templates")
    if any(key.startswith("_") for key in metadata):
        problems.append("metadata keys may not start with [_]")
    if problems:
        raise ValidationFailed(*problems)
    stored: dict[str, Any] = {"enabled": body["enabled"], "roles": roles or [], "rules": rules, "metadata": metadata}
    stored["role_templates"] = templates or []
    return stored


def mapping_to_dict(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping as the get API answers it, fields in Elasticsearch's order, empty lists left out."""
    out: dict[str, Any] = {"enabled": stored["enabled"]}
    if stored.get("roles"):
        out["roles"] = list(stored["roles"])
    if stored.get("role_templates"):
        out["role_templates"] = list(stored["role_templates"])
    out["rules"] = stored["rules"]
    out["metadata"] = stored.get("metadata") or {}
    return out


def mapped_roles(mappings: Iterable[Mapping[str, Any]], user: UserData) -> list[str]:
    """The roles the enabled mappings that match `user` give, sorted and once each."""
    names: set[str] = set()
    for mapping in mappings:
        if mapping["enabled"] and matches(mapping["rules"], user):
            names.update(mapping.get("roles") or [])
            for template in mapping.get("role_templates") or []:
                names.update(template_role_names(template, user))
    return sorted(names)
