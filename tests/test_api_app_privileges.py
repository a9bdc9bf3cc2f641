"""Application privileges through the official client: written, read and deleted at `/_security/privilege`, and
resolved by `_has_privileges` for users and API keys."""

from __future__ import annotations

import pytest
from elasticsearch import ApiError, AuthorizationException, BadRequestError, Elasticsearch, NotFoundError

from apikeys.models import ApplicationPrivilege
from tests.conftest import es_as, make_role, make_user

APP = {
    "myapp": {
        "read": {"actions": ["data:read/*", "action:login"], "metadata": {"description": "Read"}},
        "write": {"actions": ["data:write/*", "action:login"]},
    }
}


def stored() -> list[tuple[str, str, list[str]]]:
    return list(
        ApplicationPrivilege.objects.order_by("application", "name").values_list("application", "name", "actions")
    )


def test_privileges_are_created_replaced_read_and_deleted(admin_es):
    assert admin_es.security.put_privileges(privileges=APP).body == {
        "myapp": {"read": {"created": True}, "write": {"created": True}}
    }
    again = {"myapp": {"read": {"actions": ["data:read/*"]}}}
    assert admin_es.security.put_privileges(privileges=again).body == {"myapp": {"read": {"created": False}}}

    everything = admin_es.security.get_privileges().body
    assert everything == {
        "myapp": {
            "read": {"application": "myapp", "name": "read", "actions": ["data:read/*"], "metadata": {}},
            "write": {
                "application": "myapp",
                "name": "write",
                "actions": ["data:write/*", "action:login"],
                "metadata": {},
            },
        }
    }
    assert admin_es.security.get_privileges(application="myapp").body == everything
    assert list(admin_es.security.get_privileges(application="myapp", name="write")["myapp"]) == ["write"]

    assert admin_es.security.delete_privileges(application="myapp", name="read,nothing").body == {
        "myapp": {"read": {"found": True}, "nothing": {"found": False}}
    }
    assert stored() == [("myapp", "write", ["data:write/*", "action:login"])]


def test_asking_for_what_is_not_there_is_a_404(admin_es):
    with pytest.raises(NotFoundError) as caught:
        admin_es.security.get_privileges(application="myapp")
    assert caught.value.body == {}
    with pytest.raises(NotFoundError) as caught:
        admin_es.security.delete_privileges(application="myapp", name="read")
    assert caught.value.body == {"myapp": {"read": {"found": False}}}


@pytest.mark.parametrize(
    ("privileges", "reason"),
    [
        ({"myapp": {"read": {"actions": ["data:read/*"], "colour": "red"}}}, "unknown field [colour]"),
        ({"myapp": {"read": {"actions": "data:read/*"}}}, "field [actions] must be an array of strings"),
        ({"myapp": {"read": "data:read/*"}}, "must be an object"),
        ({"myapp": {"Read": {"actions": ["data:read/*"]}}}, "must match the pattern ^[a-z][a-zA-Z0-9_.-]*$"),
        ({"myapp": {"read": {"actions": ["read"]}}}, "must contain one of [/*:] (found 'read')"),
        ({"myapp": {"read": {"actions": []}}}, "must have at least one action"),
        ({"my": {"read": {"actions": ["data:read/*"]}}}, "at least 3 characters long (found 'my')"),
        ({"myapp": {"read": {"actions": ["a:b"], "metadata": {"_x": 1}}}}, "metadata keys may not start with [_]"),
        ({"myapp": {"read": {"application": "other", "actions": ["a:b"]}}}, "has [application] [other]"),
        ({}, "At least one application privilege must be provided"),
    ],
)
def test_bad_privileges_are_refused_and_nothing_is_written(admin_es, privileges, reason):
    admin_es.security.put_privileges(privileges={"keep": {"this": {"actions": ["k:1"]}}})
    with pytest.raises(BadRequestError) as caught:
        admin_es.security.put_privileges(
            privileges={"keep": {"that": {"actions": ["k:2"]}}, **privileges} if privileges else {}
        )
    assert reason in caught.value.body["error"]["reason"]
    assert stored() == [("keep", "this", ["k:1"])]


def test_malformed_json_is_a_400(admin_es):
    with pytest.raises(BadRequestError) as caught:
        admin_es.perform_request("PUT", "/_security/privilege", headers={"content-type": "application/json"}, body="{")
    assert caught.value.body["error"]["type"] == "x_content_parse_exception"
    assert stored() == []


def test_writing_privileges_needs_manage_security(es_url, reader):
    with pytest.raises(AuthorizationException) as caught:
        es_as(es_url, "reader").security.put_privileges(privileges=APP)
    assert "cluster:admin/xpack/security/privilege/put" in caught.value.body["error"]["reason"]
    assert stored() == []
    with pytest.raises(NotFoundError):
        es_as(es_url, "reader").security.get_privileges(application="myapp")  # read_security may read


def check(es: Elasticsearch, *privileges: str, resource: str = "item/1") -> dict[str, bool]:
    answer = es.security.has_privileges(
        application=[{"application": "myapp", "resources": [resource], "privileges": list(privileges)}]
    )
    return answer["application"]["myapp"][resource]


@pytest.fixture
def viewer_es(es_url, admin_es) -> Elasticsearch:
    admin_es.security.put_privileges(privileges=APP)
    role = make_role(
        "myapp_viewer",
        {
            "cluster": ["manage_own_api_key"],
            "applications": [{"application": "myapp", "privileges": ["read"], "resources": ["item/*"]}],
        },
    )
    make_user("vera", role)
    return es_as(es_url, "vera")


def test_has_privileges_resolves_actions_through_the_applications_privileges(viewer_es):
    assert check(viewer_es, "read", "data:read/me", "data:read/*", "action:login", "write", "data:write/me") == {
        "read": True,
        "data:read/me": True,
        "data:read/*": True,
        "action:login": True,
        "write": False,
        "data:write/me": False,
    }
    assert check(viewer_es, "data:read/me", resource="other/1") == {"data:read/me": False}


def test_a_keys_application_privileges_are_the_intersection_with_its_owners(es_url, viewer_es):
    key = viewer_es.security.create_api_key(
        name="narrower",
        role_descriptors={
            "r": {
                "applications": [{"application": "myapp", "privileges": ["data:read/me", "write"], "resources": ["*"]}]
            }
        },
    )
    as_key = Elasticsearch(es_url, api_key=key["encoded"])
    assert check(as_key, "data:read/me", "data:read/other", "write", "data:write/me") == {
        "data:read/me": True,
        "data:read/other": False,
        "write": False,
        "data:write/me": False,
    }


def test_privileges_defined_later_take_effect_at_once(admin_es, viewer_es):
    assert check(viewer_es, "data:export/all") == {"data:export/all": False}
    admin_es.security.put_privileges(privileges={"myapp": {"read": {"actions": ["data:read/*", "data:export/*"]}}})
    assert check(viewer_es, "data:export/all") == {"data:export/all": True}


def test_unknown_methods_on_privilege_paths_are_a_405(admin_es):
    with pytest.raises(ApiError) as caught:
        admin_es.perform_request("DELETE", "/_security/privilege/myapp")
    assert caught.value.meta.status == 405


@pytest.fixture
def kibana_admin_es(es_url) -> Elasticsearch:
    """A user whose only privilege is `global.application.manage` on the `kibana-*` applications."""
    make_user("kim", make_role("kibana_admin", {"global": {"application": {"manage": {"applications": ["kibana-*"]}}}}))
    return es_as(es_url, "kim")


def test_managing_named_applications_lets_a_user_write_read_and_delete_their_privileges(kibana_admin_es):
    written = kibana_admin_es.security.put_privileges(privileges={"kibana-main": {"read": {"actions": ["ui:read/*"]}}})
    assert written.body == {"kibana-main": {"read": {"created": True}}}
    assert list(kibana_admin_es.security.get_privileges(application="kibana-main")["kibana-main"]) == ["read"]
    assert kibana_admin_es.security.delete_privileges(application="kibana-main", name="read")["kibana-main"] == {
        "read": {"found": True}
    }
    assert stored() == []


def test_managing_named_applications_grants_nothing_about_others(kibana_admin_es):
    mixed = {"kibana-main": {"read": {"actions": ["ui:read/*"]}}, "myapp": {"read": {"actions": ["data:read/*"]}}}
    for call in (
        lambda: kibana_admin_es.security.put_privileges(privileges=mixed),
        lambda: kibana_admin_es.security.get_privileges(application="myapp"),
        lambda: kibana_admin_es.security.get_privileges(),
        lambda: kibana_admin_es.security.delete_privileges(application="myapp", name="read"),
    ):
        with pytest.raises(AuthorizationException) as caught:
            call()
        assert "is unauthorized for user [kim]" in caught.value.body["error"]["reason"]
    assert stored() == []


def test_a_key_manages_an_application_only_when_its_descriptors_and_its_owner_both_do(es_url):
    make_user(
        "kurt",
        make_role(
            "kibana_keys",
            {"cluster": ["manage_own_api_key"], "global": {"application": {"manage": {"applications": ["kibana-*"]}}}},
        ),
    )
    owner = es_as(es_url, "kurt")
    narrow = owner.security.create_api_key(
        name="narrow", role_descriptors={"r": {"global": {"application": {"manage": {"applications": ["kibana-dev"]}}}}}
    )
    as_key = Elasticsearch(es_url, api_key=narrow["encoded"])
    assert as_key.security.put_privileges(privileges={"kibana-dev": {"read": {"actions": ["ui:read/*"]}}})
    with pytest.raises(AuthorizationException):
        as_key.security.put_privileges(privileges={"kibana-main": {"read": {"actions": ["ui:read/*"]}}})
    assert stored() == [("kibana-dev", "read", ["ui:read/*"])]
