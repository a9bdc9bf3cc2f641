"""Who may do what with API keys: owners are isolated, privileges never exceed the owner's."""

import pytest

from apikeys.models import ApiKey
from tests.conftest import apikey_header, basic, key_count, make_role, new_key

KEYS = "/_security/api_key"
QUERY = "/_security/_query/api_key"


def ids_of(response) -> set[str]:
    return {k["id"] for k in response.json()["api_keys"]}


def test_own_key_users_get_their_own_keys_when_they_say_so(api, alice, bob):
    mine, theirs = new_key(alice, "mine"), new_key(bob, "theirs")
    assert ids_of(api("GET", KEYS, basic(alice), owner=True)) == {mine.key.id}
    assert ids_of(api("GET", KEYS, basic(alice), owner=True, name="*")) == {mine.key.id}
    assert ids_of(api("GET", KEYS, basic(alice), username="alice", realm_name="default_native")) == {mine.key.id}
    assert api("GET", KEYS, basic(alice), owner=True, id=theirs.key.id).status_code == 404


@pytest.mark.parametrize(
    "params",
    [{}, {"name": "*"}, {"id": "k" * 20}, {"username": "alice"}, {"realm_name": "default_native"}],
    ids=["nothing", "name", "id", "username-alone", "realm-alone"],
)
def test_own_key_users_who_do_not_name_their_own_keys_are_refused_as_in_elasticsearch(api, alice, params):
    new_key(alice, "mine")
    response = api("GET", KEYS, basic(alice), **params)
    assert response.status_code == 403
    assert response.json()["error"]["reason"] == (
        "action [cluster:admin/xpack/security/api_key/get] is unauthorized for user [alice] with effective roles "
        "[own_keys], this action is granted by the cluster privileges [read_security,manage_api_key,manage_security,all]"
    )


def test_own_key_users_cannot_name_another_user(api, alice, bob):
    new_key(bob)
    response = api("GET", KEYS, basic(alice), username="bob")
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "security_exception"


def test_own_key_users_query_only_their_own_keys(api, alice, bob):
    mine = new_key(alice, "shared-name")
    new_key(bob, "shared-name")
    response = api("POST", QUERY, basic(alice), {"query": {"term": {"name": "shared-name"}}})
    assert ids_of(response) == {mine.key.id}
    assert response.json()["total"] == 1


def test_own_key_users_cannot_update_another_users_key(api, alice, bob):
    theirs = new_key(bob, metadata={"v": 1})
    response = api("PUT", f"{KEYS}/{theirs.key.id}", basic(alice), {"metadata": {"v": 2}})
    assert response.status_code == 404
    assert response.json()["error"]["reason"] == f"no API key owned by requesting user found for ID [{theirs.key.id}]"
    assert ApiKey.objects.get(pk=theirs.key.id).metadata == {"v": 1}


def test_own_key_users_cannot_bulk_update_another_users_key(api, alice, bob):
    mine, theirs = new_key(alice), new_key(bob, metadata={"v": 1})
    response = api(
        "POST", f"{KEYS}/_bulk_update", basic(alice), {"ids": [mine.key.id, theirs.key.id], "metadata": {"v": 2}}
    )
    assert response.json()["updated"] == [mine.key.id]
    assert response.json()["errors"]["count"] == 1
    assert theirs.key.id in response.json()["errors"]["details"]
    assert ApiKey.objects.get(pk=theirs.key.id).metadata == {"v": 1}


def test_own_key_users_cannot_invalidate_another_users_key(api, alice, bob):
    theirs = new_key(bob)
    response = api("DELETE", KEYS, basic(alice), {"ids": [theirs.key.id]})
    assert response.status_code == 403  # ids without owner=true do not name one's own keys (Elasticsearch)
    assert response.json()["error"]["reason"].endswith(
        "granted by the cluster privileges [manage_api_key,manage_security,all]"
    )
    mine_only = api("DELETE", KEYS, basic(alice), {"ids": [theirs.key.id], "owner": True})
    assert mine_only.status_code == 200 and mine_only.json()["invalidated_api_keys"] == []
    assert api("DELETE", KEYS, basic(alice), {"username": "bob"}).status_code == 403
    assert not ApiKey.objects.get(pk=theirs.key.id).invalidated


def test_a_key_may_invalidate_itself_by_its_id(api, alice):
    created = new_key(alice)
    response = api("DELETE", KEYS, apikey_header(created.encoded), {"ids": [created.key.id]})
    assert response.status_code == 200 and response.json()["invalidated_api_keys"] == [created.key.id]


def test_own_key_users_invalidate_their_own_keys_by_owner_flag(api, alice, bob):
    mine, theirs = new_key(alice), new_key(bob)
    response = api("DELETE", KEYS, basic(alice), {"owner": True})
    assert response.json()["invalidated_api_keys"] == [mine.key.id]
    assert not ApiKey.objects.get(pk=theirs.key.id).invalidated


def test_read_security_reads_every_key_but_invalidates_none(api, reader, alice, bob):
    a, b = new_key(alice), new_key(bob)
    assert ids_of(api("GET", KEYS, basic(reader))) == {a.key.id, b.key.id}
    assert ids_of(api("POST", QUERY, basic(reader), {})) == {a.key.id, b.key.id}
    response = api("DELETE", KEYS, basic(reader), {"ids": [a.key.id]})
    assert response.status_code == 403
    assert not ApiKey.objects.filter(invalidated=True).exists()
    assert api("POST", KEYS, basic(reader), {"name": "nope"}).status_code == 403


def test_manage_api_key_invalidates_anyones_keys(api, manager, alice, bob):
    a, b = new_key(alice), new_key(bob)
    response = api("DELETE", KEYS, basic(manager), {"username": "bob"})
    assert response.json()["invalidated_api_keys"] == [b.key.id]
    assert not ApiKey.objects.get(pk=a.key.id).invalidated


def test_admins_cannot_update_other_users_keys(api, admin, alice):
    theirs = new_key(alice, metadata={"v": 1})
    assert api("PUT", f"{KEYS}/{theirs.key.id}", basic(admin), {"metadata": {"v": 2}}).status_code == 404
    response = api("POST", f"{KEYS}/_bulk_update", basic(admin), {"ids": [theirs.key.id], "metadata": {"v": 2}})
    assert response.json()["updated"] == []
    assert ApiKey.objects.get(pk=theirs.key.id).metadata == {"v": 1}


def test_api_keys_cannot_update_keys(api, alice):
    created = new_key(alice, metadata={"v": 1})
    response = api("PUT", f"{KEYS}/{created.key.id}", apikey_header(created.encoded), {"metadata": {"v": 2}})
    assert response.status_code == 400
    assert response.json()["error"]["reason"] == (
        "authentication via API key not supported: only the owner user can update an API key"
    )
    response = api("POST", f"{KEYS}/_bulk_update", apikey_header(created.encoded), {"ids": [created.key.id]})
    assert response.status_code == 400
    assert ApiKey.objects.get(pk=created.key.id).metadata == {"v": 1}


def test_a_key_creates_only_derived_keys_without_privileges(api, alice):
    parent = new_key(alice)
    auth = apikey_header(parent.encoded)
    reason = "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)"
    for body in (
        {"name": "d"},
        {"name": "d", "role_descriptors": {}},
        {"name": "d", "role_descriptors": {"r": {"cluster": ["monitor"]}}},
    ):
        response = api("POST", KEYS, auth, body)
        assert response.status_code == 400
        assert response.json()["error"]["reason"] == reason
    assert key_count() == 1
    response = api("POST", KEYS, auth, {"name": "derived", "role_descriptors": {"r": {}}})
    assert response.status_code == 200
    derived = ApiKey.objects.get(pk=response.json()["id"])
    assert derived.owner == alice
    assert derived.limited_by == parent.key.limited_by


def test_a_key_without_manage_own_api_key_gets_403(api, alice):
    limited = new_key(alice, role_descriptors={"r": {"cluster": ["monitor"]}})
    response = api("POST", KEYS, apikey_header(limited.encoded), {"name": "x", "role_descriptors": {"r": {}}})
    assert response.status_code == 403
    assert api("GET", KEYS, apikey_header(limited.encoded)).status_code == 403
    assert key_count() == 1


def test_users_without_roles_can_do_nothing_with_keys(api, charlie, alice):
    new_key(alice)
    assert api("POST", KEYS, basic(charlie), {"name": "x"}).status_code == 403
    assert api("GET", KEYS, basic(charlie)).status_code == 403
    assert api("POST", QUERY, basic(charlie), {}).status_code == 403
    assert api("DELETE", KEYS, basic(charlie), {"owner": True}).status_code == 403
    assert key_count() == 1


def test_effective_privileges_are_the_intersection_with_limited_by(api, alice):
    key = new_key(
        alice, role_descriptors={"r": {"cluster": ["all"], "indices": [{"names": ["*"], "privileges": ["all"]}]}}
    )
    response = api(
        "POST",
        "/_security/user/_has_privileges",
        apikey_header(key.encoded),
        {
            "cluster": ["manage_own_api_key", "manage_security"],
            "index": [{"names": ["books", "secret"], "privileges": ["read", "write"]}],
        },
    )
    assert response.status_code == 200
    assert response.json()["cluster"] == {"manage_own_api_key": True, "manage_security": False}
    assert response.json()["index"] == {
        "books": {"read": True, "write": False},
        "secret": {"read": False, "write": False},
    }
    assert response.json()["has_all_requested"] is False


def test_the_snapshot_is_taken_at_creation_and_retaken_on_update(api, alice, own_keys_role):
    key = new_key(alice)
    extra = make_role("extra", {"cluster": ["monitor"]})
    alice.role_names.append(extra.name)
    alice.save()
    auth = apikey_header(key.encoded)
    assert api("POST", "/_security/user/_has_privileges", auth, {"cluster": ["monitor"]}).json()["cluster"] == {
        "monitor": False
    }
    assert api("PUT", f"{KEYS}/{key.key.id}", basic(alice), {}).json() == {"updated": True}
    assert api("POST", "/_security/user/_has_privileges", auth, {"cluster": ["monitor"]}).json()["cluster"] == {
        "monitor": True
    }


def test_keys_need_manage_api_key_to_see_limited_by(api, alice, manager):
    key = new_key(alice)
    assert api("GET", KEYS, apikey_header(key.encoded), with_limited_by=True).status_code == 403
    response = api("GET", KEYS, basic(manager), with_limited_by=True)
    assert response.json()["api_keys"][0]["limited_by"] == [key.key.limited_by]


def test_grant_needs_grant_api_key(api, alice, bob):
    body = {"grant_type": "password", "username": "bob", "password": "correct horse battery", "api_key": {"name": "g"}}
    assert api("POST", f"{KEYS}/grant", basic(alice), body).status_code == 403
    assert key_count() == 0


def test_grant_refuses_wrong_user_credentials_with_403(api, manager, bob):
    body = {"grant_type": "password", "username": "bob", "password": "wrong", "api_key": {"name": "g"}}
    response = api("POST", f"{KEYS}/grant", basic(manager), body)
    assert response.status_code == 403
    assert key_count() == 0


def test_grant_run_as_needs_the_run_as_privilege(api, manager, alice, bob):
    body = {
        "grant_type": "password",
        "username": "alice",
        "password": "correct horse battery",
        "run_as": "bob",
        "api_key": {"name": "g"},
    }
    refused = api("POST", f"{KEYS}/grant", basic(manager), body)
    assert refused.status_code == 403
    assert refused.json()["error"]["reason"] == (
        "action [cluster:admin/xpack/security/api_key/grant] is unauthorized for user [alice] with effective roles "
        "[own_keys], because user [alice] is unauthorized to run as [bob]"
    )
    alice.role_names.append(make_role("runner", {"run_as": ["bob"]}).name)
    alice.save()
    response = api("POST", f"{KEYS}/grant", basic(manager), body)
    assert response.status_code == 200
    assert ApiKey.objects.get(pk=response.json()["id"]).owner == bob


def test_managing_roles_and_users_needs_manage_security(api, alice, reader, admin):
    assert api("PUT", "/_security/role/r1", basic(alice), {"cluster": ["monitor"]}).status_code == 403
    assert api("PUT", "/_security/role/r1", basic(reader), {"cluster": ["monitor"]}).status_code == 403
    assert api("GET", "/_security/role", basic(reader)).status_code == 200
    assert api("GET", "/_security/user", basic(alice)).status_code == 403
    assert api("PUT", "/_security/user/zed", basic(reader), {"password": "longenough", "roles": []}).status_code == 403
    assert api("PUT", "/_security/role/r1", basic(admin), {"cluster": ["monitor"]}).status_code == 200


def test_clearing_the_cache_needs_manage_security(api, alice, admin):
    key = new_key(alice)
    assert api("POST", f"{KEYS}/{key.key.id}/_clear_cache", basic(alice)).status_code == 403
    assert api("POST", f"{KEYS}/*/_clear_cache", basic(admin)).json()["_nodes"]["successful"] == 1
