"""The role mapping API: the official client against a live server, and refusals with Django's test client."""

from __future__ import annotations

import pytest
from elasticsearch import ApiError as ClientError
from elasticsearch import AuthorizationException, NotFoundError

from apikeys.models import AuditEvent, RoleMapping
from tests.conftest import basic, es_as, make_role, make_user

STAFF = {"enabled": True, "roles": ["staff_role"], "rules": {"field": {"groups": "staff"}}, "metadata": {"v": 1}}


@pytest.fixture
def security_admin(db):
    return make_user("secadmin", make_role("security_admin", {"cluster": ["manage_security"]}))


@pytest.fixture
def mappings_es(es_url, security_admin):
    return es_as(es_url, "secadmin")


def test_a_mapping_is_created_replaced_read_and_deleted_with_the_official_client(mappings_es):
    assert mappings_es.security.put_role_mapping(name="staff", **STAFF).body == {"role_mapping": {"created": True}}
    templated = {
        "enabled": False,
        "role_templates": [{"template": {"source": "{{#tojson}}groups{{/tojson}}"}, "format": "json"}],
        "rules": {"all": [{"field": {"realm.name": "oidc1"}}, {"except": {"field": {"username": "bob"}}}]},
    }
    assert mappings_es.security.put_role_mapping(name="staff", **templated).body == {"role_mapping": {"created": False}}
    assert mappings_es.security.put_role_mapping(name="admins", **STAFF).body == {"role_mapping": {"created": True}}
    assert mappings_es.security.get_role_mapping(name="staff").body == {"staff": {**templated, "metadata": {}}}
    assert list(mappings_es.security.get_role_mapping().body) == ["admins", "staff"]
    assert list(mappings_es.security.get_role_mapping(name="admins,nobody").body) == ["admins"]
    assert mappings_es.security.delete_role_mapping(name="admins").body == {"found": True}
    with pytest.raises(NotFoundError) as missing:
        mappings_es.security.delete_role_mapping(name="admins")
    assert missing.value.body == {"found": False}
    with pytest.raises(NotFoundError) as missing:
        mappings_es.security.get_role_mapping(name="admins")
    assert missing.value.body == {}


def test_a_bad_body_is_refused_and_changes_nothing(mappings_es):
    mappings_es.security.put_role_mapping(name="staff", **STAFF)
    with pytest.raises(ClientError) as refused:
        mappings_es.security.put_role_mapping(name="staff", enabled=True, roles=["x"], rules={"some": []})
    assert refused.value.meta.status == 400
    assert refused.value.body["error"]["type"] == "x_content_parse_exception"
    assert refused.value.body["error"]["reason"] == "[role-mapping] failed to parse field [rules]"
    assert refused.value.body["error"]["caused_by"] == {
        "type": "parse_exception",
        "reason": "failed to parse rules expression. field [some] is not recognised in object [rules]",
    }
    assert mappings_es.security.get_role_mapping(name="staff")["staff"]["roles"] == ["staff_role"]


def test_the_audit_log_records_who_changed_a_mapping(mappings_es):
    mappings_es.security.put_role_mapping(name="staff", **STAFF)
    mappings_es.security.delete_role_mapping(name="staff")
    events = list(AuditEvent.objects.filter(target="staff").order_by("id").values_list("action", "actor"))
    assert events == [("role_mapping_change", "secadmin"), ("role_mapping_delete", "secadmin")]


def test_reading_needs_read_security_and_writing_manage_security(es_url, db):
    make_user("reader2", make_role("reads", {"cluster": ["read_security"]}))
    reader = es_as(es_url, "reader2")
    assert reader.security.get_role_mapping().body == {}
    with pytest.raises(AuthorizationException) as refused:
        reader.security.put_role_mapping(name="staff", **STAFF)
    assert refused.value.body["error"]["reason"].startswith(
        "action [cluster:admin/xpack/security/role_mapping/put] is unauthorized for user [reader2]"
    )
    assert not RoleMapping.objects.exists()


def test_a_caller_without_privileges_is_refused_every_verb(api, charlie):
    for method in ("GET", "PUT", "DELETE"):
        answer = api(method, "/_security/role_mapping/staff", auth=basic(charlie), body=STAFF)
        assert answer.status_code == 403, method
    assert not RoleMapping.objects.exists()


def test_an_anonymous_or_wrongly_authenticated_caller_is_refused(api, security_admin):
    assert api("PUT", "/_security/role_mapping/staff", body=STAFF).status_code == 401
    assert api("PUT", "/_security/role_mapping/staff", auth=basic("secadmin", "wrong"), body=STAFF).status_code == 401
    assert not RoleMapping.objects.exists()


def test_a_wrong_method_is_a_405_naming_the_allowed_ones(api, security_admin):
    answer = api("PATCH", "/_security/role_mapping/staff", auth=basic(security_admin))
    assert answer.status_code == 405
    assert answer["Allow"] == "DELETE,GET,POST,PUT"
    assert api("PUT", "/_security/role_mapping", auth=basic(security_admin), body=STAFF).status_code == 405


@pytest.mark.parametrize(
    ("body", "status", "error_type"),
    [
        (None, 400, "parse_exception"),
        ([1], 400, "x_content_parse_exception"),
        ({**STAFF, "roles": []}, 400, "action_request_validation_exception"),
        ({"roles": ["r"], "rules": STAFF["rules"]}, 400, "parsing_exception"),
        ({**STAFF, "rules": {"field": {"groups": {"a": 1}}}}, 400, "x_content_parse_exception"),
    ],
)
def test_a_malformed_body_is_a_400_that_writes_nothing(api, security_admin, body, status, error_type):
    answer = api("PUT", "/_security/role_mapping/staff", auth=basic(security_admin), body=body)
    assert (answer.status_code, answer.json()["error"]["type"]) == (status, error_type)
    assert not RoleMapping.objects.exists()
    assert not AuditEvent.objects.filter(action="role_mapping_change").exists()


def test_a_name_longer_than_a_column_holds_is_refused(api, security_admin):
    answer = api("PUT", "/_security/role_mapping/" + "m" * 508, auth=basic(security_admin), body=STAFF)
    assert answer.status_code == 400
    assert not RoleMapping.objects.exists()
