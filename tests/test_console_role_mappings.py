"""The role mappings page: list, create, edit with the rules editor, delete after a confirmation; only for those
who hold manage_security."""

from __future__ import annotations

import json

import pytest

from apikeys.models import AuditEvent, RoleMapping
from tests.conftest import make_role, make_user

RULES = {"field": {"groups": "staff"}}


@pytest.fixture
def security_admin(db):
    return make_user("secadmin", make_role("security_admin", {"cluster": ["manage_security"]}))


@pytest.fixture
def signed_in(client, security_admin):
    client.force_login(security_admin)
    return client


def test_the_list_shows_each_mapping_with_its_roles_and_a_summary_of_its_rules(signed_in):
    RoleMapping.objects.create(name="staff", roles=["own_keys", "reader"], rules=RULES)
    page = signed_in.get("/role-mappings/").content.decode()
    assert "staff" in page and "own_keys, reader" in page and "groups = staff" in page
    assert 'href="/role-mappings/"' in page  # the header's link


def test_a_mapping_is_created_from_the_form(signed_in):
    answer = signed_in.post(
        "/role-mappings/new/",
        {"name": "staff", "enabled": "on", "roles": "own_keys, reader", "rules": json.dumps(RULES)},
    )
    assert answer.status_code == 302
    mapping = RoleMapping.objects.get(name="staff")
    assert (mapping.enabled, mapping.roles, mapping.rules) == (True, ["own_keys", "reader"], RULES)
    assert AuditEvent.objects.filter(action="role_mapping_change", actor="secadmin").exists()


def test_bad_rules_are_refused_with_the_line_to_fix_and_nothing_is_saved(signed_in):
    rules = '{\n  "all": [\n    {"except": {"field": {"username": "bob"}}},\n    {"some": 1}\n  ]\n}'
    answer = signed_in.post("/role-mappings/new/", {"name": "staff", "enabled": "on", "roles": "r", "rules": rules})
    page = answer.content.decode()
    assert "field [some] is not recognised in object [all]" in page and "Line 4." in page
    assert not RoleMapping.objects.exists()


def test_the_rules_editor_checks_as_you_type(signed_in):
    answer = signed_in.post("/api-keys/validate/", {"field": "rules", "rules": '{"any": {}}'})
    assert "field [any] requires an array" in answer.content.decode()
    answer = signed_in.post("/api-keys/validate/", {"field": "rules", "rules": json.dumps(RULES)})
    assert "Valid JSON" in answer.content.decode()


def test_editing_keeps_the_role_templates_when_no_role_is_named(signed_in):
    template = {"template": {"source": "{{#tojson}}groups{{/tojson}}"}, "format": "json"}
    RoleMapping.objects.create(name="groups", role_templates=[template], rules=RULES)
    answer = signed_in.post("/role-mappings/groups/", {"roles": "", "rules": json.dumps({"field": {"groups": "*"}})})
    assert answer.status_code == 302
    mapping = RoleMapping.objects.get(name="groups")
    assert (mapping.enabled, mapping.role_templates, mapping.rules) == (False, [template], {"field": {"groups": "*"}})


def test_deleting_asks_first_then_deletes(signed_in):
    RoleMapping.objects.create(name="staff", roles=["r"], rules=RULES)
    confirm = signed_in.get("/role-mappings/staff/delete/").content.decode()
    assert "Delete role mapping 'staff'?" in confirm
    assert RoleMapping.objects.exists()
    assert signed_in.post("/role-mappings/staff/delete/").status_code == 302
    assert not RoleMapping.objects.exists()


def test_someone_without_manage_security_is_refused_every_page(client, alice):
    RoleMapping.objects.create(name="staff", roles=["r"], rules=RULES)
    client.force_login(alice)
    for method, path in [
        ("get", "/role-mappings/"),
        ("get", "/role-mappings/new/"),
        ("post", "/role-mappings/staff/"),
        ("post", "/role-mappings/staff/delete/"),
    ]:
        assert getattr(client, method)(path).status_code == 403, path
    assert RoleMapping.objects.filter(name="staff", roles=["r"]).exists()
    assert 'href="/role-mappings/"' not in client.get("/").content.decode()


def test_an_unknown_mapping_is_a_404_and_a_wrong_method_a_405(signed_in):
    assert signed_in.get("/role-mappings/nobody/").status_code == 404
    assert signed_in.put("/role-mappings/").status_code == 405
