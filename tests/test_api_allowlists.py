"""Network allowlists per key (our extension): `allowed_ips` on create, grant, update, bulk update and roll;
answered by get and query, queryable; a request from outside is a 401 `ip_not_allowed`."""

from ipaddress import ip_network

import pytest
from django.core.cache import cache

from apikeys.models import ApiKey, AuditEvent
from apikeys.records import usage
from tests.conftest import PASSWORD, apikey_header, basic, new_key

AUTHENTICATE = "/_security/_authenticate"


def call_from(client, address: str, auth: str, forwarded: str | None = None, path: str = AUTHENTICATE):
    extra = {"REMOTE_ADDR": address, "HTTP_AUTHORIZATION": auth}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.get(path, **extra)


def test_create_normalizes_and_returns_the_allowlist(api, alice):
    body = {"name": "k", "allowed_ips": ["10.0.0.0/8", "2001:DB8::/32", "127.0.0.1", "10.0.0.0/8"]}
    created = api("POST", "/_security/api_key", basic(alice), body).json()
    [key] = api("GET", "/_security/api_key", basic(alice), id=created["id"], owner=True).json()["api_keys"]
    assert key["allowed_ips"] == ["10.0.0.0/8", "2001:db8::/32", "127.0.0.1"]


def test_a_key_without_an_allowlist_has_none_in_its_answer(api, alice):
    created = api("POST", "/_security/api_key", basic(alice), {"name": "k", "allowed_ips": []}).json()
    [key] = api("GET", "/_security/api_key", basic(alice), id=created["id"], owner=True).json()["api_keys"]
    assert "allowed_ips" not in key
    assert ApiKey.objects.get(pk=created["id"]).allowed_ips is None


@pytest.mark.parametrize(
    ("allowed", "path"),
    [
        (["10.0.0.0/8", "10.0.0.300"], "allowed_ips[1]"),
        (["10.1.2.3/8"], "allowed_ips[0]"),
        (["::1", 7], "allowed_ips[1]"),
        (["192.168.0.0/33"], "allowed_ips[0]"),
    ],
)
def test_a_bad_entry_is_refused_with_its_path_and_nothing_is_written(api, alice, allowed, path):
    response = api("POST", "/_security/api_key", basic(alice), {"name": "k", "allowed_ips": allowed})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "action_request_validation_exception"
    assert f"[{path}]" in error["reason"]
    assert not ApiKey.objects.exists()


def test_more_than_a_hundred_entries_are_refused(api, alice):
    allowed = [f"10.0.{i // 256}.{i % 256}" for i in range(101)]
    response = api("POST", "/_security/api_key", basic(alice), {"name": "k", "allowed_ips": allowed})
    assert response.status_code == 400
    assert "at most [100]" in response.json()["error"]["reason"]


def test_an_allowlist_that_is_not_a_list_is_a_parse_error(api, alice):
    response = api("POST", "/_security/api_key", basic(alice), {"name": "k", "allowed_ips": "10.0.0.0/8"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "x_content_parse_exception"


def test_a_key_works_inside_its_allowlist_over_ipv4_and_ipv6(client, alice):
    created = new_key(alice, allowed_ips=["10.0.0.0/8", "2001:db8::/32"])
    auth = apikey_header(created.encoded)
    assert call_from(client, "10.20.30.40", auth).status_code == 200
    assert call_from(client, "2001:db8::7", auth).status_code == 200


def test_a_key_is_refused_outside_its_allowlist_counted_and_audited_once(client, alice):
    created = new_key(alice, allowed_ips=["10.0.0.0/8", "2001:db8::/32"])
    auth = apikey_header(created.encoded)
    for address in ("192.168.1.1", "2001:db9::1", "192.168.1.1"):
        response = call_from(client, address, auth)
        assert response.status_code == 401
        assert response.json()["error"]["reason"] == f"api key [{created.key.id}] may not be used from [{address}]"
    usage.flush()
    answer = client.get(f"/_security/api_key/{created.key.id}/_usage?days=1", HTTP_AUTHORIZATION=basic(alice))
    assert answer.json()["total"]["refused"] == {"ip_not_allowed": 3}
    events = AuditEvent.objects.filter(action=AuditEvent.Action.AUTH_FAILURE, key_id=created.key.id)
    assert sorted((e.client_address, e.count) for e in events) == [("192.168.1.1", 2), ("2001:db9::1", 1)]


def test_a_spoofed_forwarded_for_from_an_untrusted_hop_is_ignored(client, alice, settings):
    settings.APIKEYS_TRUSTED_PROXIES = ()
    created = new_key(alice, allowed_ips=["10.0.0.0/8"])
    response = call_from(client, "203.0.113.9", apikey_header(created.encoded), forwarded="10.1.1.1")
    assert response.status_code == 401


def test_behind_a_trusted_proxy_the_forwarded_client_is_judged(client, alice, settings):
    settings.APIKEYS_TRUSTED_PROXIES = (ip_network("172.16.0.0/12"), ip_network("fd00::/8"))
    created = new_key(alice, allowed_ips=["10.0.0.0/8", "2001:db8::/32"])
    auth = apikey_header(created.encoded)
    assert call_from(client, "172.16.0.2", auth, forwarded="10.1.1.1").status_code == 200
    assert call_from(client, "fd00::2", auth, forwarded="2001:db8::5, fd00::3").status_code == 200
    # Read right to left: the first hop not trusted is the client, whatever it wrote to the left of it.
    assert call_from(client, "172.16.0.2", auth, forwarded="10.1.1.1, 203.0.113.9").status_code == 401
    assert call_from(client, "172.16.0.2", auth, forwarded="203.0.113.9, 172.16.9.9").status_code == 401
    assert call_from(client, "172.16.0.2", auth, forwarded="10.1.1.1, 172.16.9.9").status_code == 200


def test_a_trusted_proxy_with_no_forwarded_header_is_the_client(client, alice, settings):
    settings.APIKEYS_TRUSTED_PROXIES = (ip_network("10.9.0.0/16"),)
    created = new_key(alice, allowed_ips=["10.9.0.0/16"])
    assert call_from(client, "10.9.0.1", apikey_header(created.encoded)).status_code == 200
    assert call_from(client, "10.9.0.1", apikey_header(created.encoded), forwarded="junk").status_code == 200


def test_update_sets_and_clears_the_allowlist_and_absent_keeps_it(api, client, alice):
    created = new_key(alice)
    path = f"/_security/api_key/{created.key.id}"
    assert api("PUT", path, basic(alice), {"allowed_ips": ["10.0.0.0/8"]}).json() == {"updated": True}
    assert ApiKey.objects.get(pk=created.key.id).allowed_ips == ["10.0.0.0/8"]
    assert call_from(client, "192.168.1.1", apikey_header(created.encoded)).status_code == 401
    api("PUT", path, basic(alice), {"metadata": {"a": 1}})
    assert ApiKey.objects.get(pk=created.key.id).allowed_ips == ["10.0.0.0/8"]
    assert api("PUT", path, basic(alice), {"allowed_ips": []}).json() == {"updated": True}
    assert ApiKey.objects.get(pk=created.key.id).allowed_ips is None
    cache.clear()
    assert call_from(client, "192.168.1.1", apikey_header(created.encoded)).status_code == 200


def test_a_bad_update_changes_nothing(api, alice):
    created = new_key(alice, allowed_ips=["10.0.0.0/8"])
    response = api("PUT", f"/_security/api_key/{created.key.id}", basic(alice), {"allowed_ips": ["x"]})
    assert response.status_code == 400
    assert ApiKey.objects.get(pk=created.key.id).allowed_ips == ["10.0.0.0/8"]


def test_bulk_update_sets_every_keys_allowlist(api, alice):
    first, second = new_key(alice, "a"), new_key(alice, "b")
    body = {"ids": [first.key.id, second.key.id], "allowed_ips": ["::1"]}
    answer = api("POST", "/_security/api_key/_bulk_update", basic(alice), body).json()
    assert sorted(answer["updated"]) == sorted([first.key.id, second.key.id])
    assert [k.allowed_ips for k in ApiKey.objects.all()] == [["::1"], ["::1"]]


def test_grant_takes_an_allowlist(api, admin, alice):
    body = {
        "grant_type": "password",
        "username": "alice",
        "password": PASSWORD,
        "api_key": {"name": "granted", "allowed_ips": ["192.0.2.0/24"]},
    }
    created = api("POST", "/_security/api_key/grant", basic(admin), body).json()
    assert ApiKey.objects.get(pk=created["id"]).allowed_ips == ["192.0.2.0/24"]


def test_roll_keeps_the_allowlist_or_takes_a_new_one(api, alice):
    kept, replaced = new_key(alice, "kept", allowed_ips=["10.0.0.0/8"]), new_key(alice, "new", allowed_ips=["::1"])
    rolled = api("POST", f"/_security/api_key/{kept.key.id}/_roll", basic(alice), {}).json()
    assert ApiKey.objects.get(pk=rolled["id"]).allowed_ips == ["10.0.0.0/8"]
    body = {"allowed_ips": ["192.0.2.1"]}
    rolled = api("POST", f"/_security/api_key/{replaced.key.id}/_roll", basic(alice), body).json()
    assert ApiKey.objects.get(pk=rolled["id"]).allowed_ips == ["192.0.2.1"]
    bad = api("POST", f"/_security/api_key/{kept.key.id}/_roll", basic(alice), {"allowed_ips": ["nope"]})
    assert bad.status_code == 400


def test_the_query_dsl_finds_keys_by_an_allowlist_entry(api, alice):
    new_key(alice, "office", allowed_ips=["10.0.0.0/8", "2001:db8::/32"])
    new_key(alice, "home", allowed_ips=["192.0.2.7"])
    new_key(alice, "anywhere")

    def names(query):
        response = api("POST", "/_security/_query/api_key", basic(alice), {"query": query, "sort": ["name"]})
        return [key["name"] for key in response.json()["api_keys"]]

    assert names({"term": {"allowed_ips": "2001:DB8::/32"}}) == ["office"]
    assert names({"terms": {"allowed_ips": ["192.0.2.7", "10.0.0.0/8"]}}) == ["home", "office"]
    assert names({"exists": {"field": "allowed_ips"}}) == ["home", "office"]
    assert names({"bool": {"must_not": {"exists": {"field": "allowed_ips"}}}}) == ["anywhere"]
    assert names({"term": {"allowed_ips": "10.0.0.1"}}) == []


def test_the_allowlist_cannot_be_sorted_or_searched_by_pattern(api, alice):
    for body in ({"sort": ["allowed_ips"]}, {"query": {"prefix": {"allowed_ips": "10."}}}):
        response = api("POST", "/_security/_query/api_key", basic(alice), body)
        assert response.status_code == 400
        assert "[allowed_ips] can only be queried with" in response.json()["error"]["reason"]
