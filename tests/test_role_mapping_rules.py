"""Role mapping rules, role templates and the roles they give, table by table (`domain.role_mappings`,
`domain.mustache`)."""

from __future__ import annotations

import pytest

from apikeys.domain import mustache
from apikeys.domain.errors import ApiError, ParseFailed, ValidationFailed
from apikeys.domain.role_mappings import (
    RuleParseError,
    UserData,
    mapped_roles,
    matches,
    parse_rules,
    summary,
    template_role_names,
    validate_mapping,
)

ALICE = UserData(
    username="alice",
    realm="oidc1",
    groups=("staff", "key-admins"),
    dn="cn=alice,ou=people,dc=example,dc=com",
    metadata={"department": "sales", "level": 3, "contractor": False},
)

RULES = [
    ({"field": {"username": "alice"}}, True),
    ({"field": {"username": "bob"}}, False),
    ({"field": {"username": ["bob", "alice"]}}, True),
    ({"field": {"username": "al*"}}, True),
    ({"field": {"username": "?lice"}}, True),
    ({"field": {"username": "b*"}}, False),
    ({"field": {"username": "/a.i.e/"}}, True),
    ({"field": {"username": "/ali/"}}, False),  # a regex matches the whole value
    ({"field": {"username": "*"}}, True),
    ({"field": {"groups": "staff"}}, True),
    ({"field": {"groups": "key-*"}}, True),
    ({"field": {"groups": "visitors"}}, False),
    ({"field": {"realm.name": "oidc1"}}, True),
    ({"field": {"realm.name": "default_native"}}, False),
    ({"field": {"dn": "*,ou=people,dc=example,dc=com"}}, True),
    ({"field": {"metadata.department": "sales"}}, True),
    ({"field": {"metadata.level": 3}}, True),
    ({"field": {"metadata.level": "3"}}, False),
    ({"field": {"metadata.contractor": False}}, True),
    ({"field": {"metadata.contractor": 0}}, False),  # a boolean is not a number
    ({"field": {"metadata.missing": None}}, True),
    ({"field": {"nickname": "alice"}}, False),  # an unknown field never matches
    ({"any": [{"field": {"username": "bob"}}, {"field": {"groups": "staff"}}]}, True),
    ({"any": [{"field": {"username": "bob"}}, {"field": {"groups": "visitors"}}]}, False),
    ({"any": []}, False),
    ({"all": []}, True),
    ({"all": [{"field": {"groups": "staff"}}, {"field": {"realm.name": "oidc1"}}]}, True),
    ({"all": [{"field": {"groups": "staff"}}, {"except": {"field": {"username": "alice"}}}]}, False),
    ({"all": [{"field": {"groups": "staff"}}, {"except": {"field": {"username": "bob"}}}]}, True),
    ({"all": [{"any": [{"field": {"groups": "visitors"}}, {"field": {"username": "al*"}}]}]}, True),
]


@pytest.mark.parametrize(("rule", "expected"), RULES, ids=[str(r) for r, _ in RULES])
def test_a_rule_matches_the_user_it_describes_and_no_other(rule, expected):
    assert matches(parse_rules(rule), ALICE) is expected


REFUSED_RULES = [
    ([], "expected [rules] to be an object but found [START_ARRAY] instead", "/rules"),
    ({}, "object [rules] does not contain any fields", "/rules"),
    ({"any": [], "all": []}, "object [rules] contains multiple fields", "/rules"),
    ({"some": []}, "field [some] is not recognised in object [rules]", "/rules/some"),
    ({"any": {}}, "field [any] requires an array", "/rules/any"),
    ({"except": {"field": {"username": "x"}}}, "field [except] is not allowed within [rules]", "/rules/except"),
    (
        {"any": [{"except": {"field": {"username": "x"}}}]},
        "field [except] is not allowed within [any]",
        "/rules/any/0/except",
    ),
    ({"field": "username"}, "expected an object but found [VALUE_STRING] instead", "/rules/field"),
    ({"field": {"username": "a", "groups": "b"}}, "object [field] contains multiple fields", "/rules/field"),
    (
        {"field": {"username": {"x": 1}}},
        "expected a field value but found [START_OBJECT] instead",
        "/rules/field/username",
    ),
    (
        {"field": {"groups": ["a", ["b"]]}},
        "expected a field value but found [START_ARRAY] instead",
        "/rules/field/groups/1",
    ),
    ({"all": [{"any": [1]}]}, "expected [any] to be an object but found [VALUE_NUMBER] instead", "/rules/all/0/any/0"),
]


@pytest.mark.parametrize(("rules", "problem", "path"), REFUSED_RULES, ids=[p for _, p, _ in REFUSED_RULES])
def test_a_malformed_rule_is_refused_in_elasticsearchs_words_with_its_path(rules, problem, path):
    with pytest.raises(RuleParseError) as refused:
        parse_rules(rules)
    assert refused.value.reason == f"failed to parse rules expression. {problem}"
    assert refused.value.path == path
    assert refused.value.error_type == "parse_exception"


TEMPLATES = [
    ({"template": {"source": "_user_{{username}}"}, "format": "string"}, ["_user_alice"]),
    ({"template": {"source": "{{realm.name}}-{{metadata.department}}"}}, ["oidc1-sales"]),
    ({"template": {"source": "{{#tojson}}groups{{/tojson}}"}, "format": "json"}, ["staff", "key-admins"]),
    ({"template": {"source": "{{#join}}groups{{/join}}"}, "format": "string"}, ["staff,key-admins"]),
    (
        {"template": {"source": '[{{#groups}}"g-{{.}}",{{/groups}}"base"]'}, "format": "json"},
        ["g-staff", "g-key-admins", "base"],
    ),
    ({"template": {"source": "{{^metadata.missing}}fallback{{/metadata.missing}}"}}, ["fallback"]),
    ({"template": {"source": "{{metadata.missing}}"}}, []),  # an empty name is no role
    ({"template": {"source": '{"not": "names"}'}, "format": "json"}, []),
    ({"template": {"source": "not json"}, "format": "json"}, []),
]


@pytest.mark.parametrize(("template", "names"), TEMPLATES, ids=[t["template"]["source"] for t, _ in TEMPLATES])
def test_a_role_template_gives_the_names_its_mustache_renders(template, names):
    assert template_role_names(template, ALICE) == names


def test_a_value_is_escaped_for_json_so_a_json_template_stays_json():
    quoted = UserData(username='a"b', realm="oidc1")
    assert template_role_names({"template": {"source": '["{{username}}"]'}, "format": "json"}, quoted) == ['a"b']


def test_an_unclosed_section_does_not_compile():
    with pytest.raises(mustache.TemplateError):
        mustache.check("{{#groups}}x")


def test_the_roles_of_a_user_are_the_union_of_the_enabled_mappings_that_match():
    mappings = [
        {"enabled": True, "roles": ["staff_role"], "rules": {"field": {"groups": "staff"}}},
        {"enabled": True, "roles": ["admin_role", "staff_role"], "rules": {"field": {"groups": "key-admins"}}},
        {"enabled": False, "roles": ["disabled_role"], "rules": {"field": {"username": "*"}}},
        {"enabled": True, "roles": ["visitor_role"], "rules": {"field": {"groups": "visitors"}}},
        {
            "enabled": True,
            "role_templates": [{"template": {"source": "_user_{{username}}"}, "format": "string"}],
            "rules": {"field": {"realm.name": "oidc1"}},
        },
    ]
    assert mapped_roles(mappings, ALICE) == ["_user_alice", "admin_role", "staff_role"]
    assert mapped_roles(mappings, UserData(username="zoe", realm="oidc1", groups=("visitors",))) == [
        "_user_zoe",
        "visitor_role",
    ]


def test_a_summary_says_a_rule_in_a_line():
    rule = parse_rules({"all": [{"field": {"groups": "staff"}}, {"except": {"field": {"username": ["bob", "carl"]}}}]})
    assert summary(rule) == "(groups = staff and not username = bob, carl)"


VALID = {"enabled": True, "roles": ["staff_role"], "rules": {"field": {"groups": "staff"}}}
REFUSED_MAPPINGS = [
    ({**VALID, "colour": "red"}, ParseFailed, "[role-mapping] unknown field [colour]"),
    ({**VALID, "enabled": "yes"}, ParseFailed, "[role-mapping] failed to parse field [enabled]"),
    ({**VALID, "roles": "staff_role"}, ParseFailed, "[role-mapping] failed to parse field [roles]"),
    ({**VALID, "metadata": []}, ParseFailed, "[role-mapping] failed to parse field [metadata]"),
    ({"enabled": True, "rules": VALID["rules"]}, ApiError, "failed to parse role-mapping [m]. missing field [roles]"),
    ({"enabled": True, "roles": ["r"]}, ApiError, "failed to parse role-mapping [m]. missing field [rules]"),
    ({"roles": ["r"], "rules": VALID["rules"]}, ApiError, "failed to parse role-mapping [m]. missing field [enabled]"),
    (
        {**VALID, "roles": []},
        ValidationFailed,
        "Validation Failed: 1: role-mapping roles or role-templates are missing;",
    ),
    (
        {**VALID, "role_templates": [{"template": {"source": "x"}}]},
        ValidationFailed,
        "Validation Failed: 1: role-mapping cannot have both roles and role-templates;",
    ),
    ({**VALID, "metadata": {"_x": 1}}, ValidationFailed, "Validation Failed: 1: metadata keys may not start with [_];"),
    ({**VALID, "roles": None, "role_templates": [{"template": {"source": "{{#a}}"}}]}, ApiError, None),
]


@pytest.mark.parametrize(("body", "error", "reason"), REFUSED_MAPPINGS, ids=[str(b) for b, _, _ in REFUSED_MAPPINGS])
def test_a_malformed_mapping_is_refused_as_elasticsearch_refuses_it(body, error, reason):
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(error) as refused:
        validate_mapping("m", body)
    if reason is not None:
        assert refused.value.reason == reason


def test_a_valid_mapping_is_stored_with_its_defaults():
    assert validate_mapping("m", {"enabled": False, "roles": ["r"], "rules": {"field": {"metadata.level": 3.0}}}) == {
        "enabled": False,
        "roles": ["r"],
        "rules": {"field": {"metadata.level": 3}},
        "metadata": {},
        "role_templates": [],
    }
