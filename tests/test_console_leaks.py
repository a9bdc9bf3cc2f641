"""The console's side of leaks and networks: a Leaked badge linking to where a key was found, in the list and
on the key's page, and an "Allowed IP addresses" field (one a line) on the create flyout and the key page,
validated as you type with the line of a bad entry."""

from __future__ import annotations

import re

from django.utils import timezone

from apikeys.models import ApiKey
from tests.conftest import new_key
from tests.test_console_views import HTMX, signed_in

FOUND_AT = "https://github.com/octocat/hello/blob/1a2b3c/config.env"


def leak(key_id: str, url: str = FOUND_AT, invalidated: bool = True) -> None:
    ApiKey.objects.filter(pk=key_id).update(
        leaked={"url": url, "source": "content", "reported": 1}, invalidated=invalidated, invalidation=timezone.now()
    )


def test_the_list_shows_a_leaked_badge_linking_to_where_the_key_was_found(alice):
    leaked = new_key(alice, "leaked")
    new_key(alice, "kept")
    leak(leaked.key.id, invalidated=False)  # the list shows active keys unless asked for others
    page = signed_in(alice).get("/api-keys/").content.decode()
    rows = {
        re.search(r'<a href="/api-keys/[^"]+/">([^<]+)</a>', row).group(1): row
        for row in re.findall(r"<tr>(.*?)</tr>", page)
    }
    assert f'<a class="badge danger" href="{FOUND_AT}" rel="noopener noreferrer nofollow">Leaked' in rows["leaked"]
    assert "Leaked" not in rows["kept"]


def test_a_url_that_is_not_http_is_shown_but_never_linked(alice):
    created = new_key(alice)
    leak(created.key.id, url="javascript:alert(1)")
    page = signed_in(alice).get(f"/api-keys/{created.key.id}/").content.decode()
    assert 'href="javascript' not in page
    assert '<span class="badge danger">Leaked' in page


def test_the_key_page_says_where_the_key_was_found_and_what_was_done(alice):
    created = new_key(alice)
    leak(created.key.id, invalidated=False)
    page = signed_in(alice).get(f"/api-keys/{created.key.id}/").content.decode()
    assert "Secret scanning found this key in public" in page
    assert "It still works: roll it or delete it now." in page
    assert f'<a href="{FOUND_AT}" rel="noopener noreferrer nofollow">{FOUND_AT}</a>' in page


def test_the_create_form_takes_allowed_ip_addresses_one_a_line(alice):
    client = signed_in(alice)
    form = client.get("/api-keys/create/", **HTMX).content.decode()
    assert '<label for="id_allowed_ips">Allowed IP addresses</label>' in form
    response = client.post(
        "/api-keys/create/", {"name": "office", "allowed_ips": "10.0.0.0/8\n\n2001:DB8::/32\n"}, **HTMX
    )
    assert response.status_code == 200
    assert ApiKey.objects.get(name="office").allowed_ips == ["10.0.0.0/8", "2001:db8::/32"]


def test_a_bad_address_is_refused_with_its_line_and_nothing_is_created(alice):
    response = signed_in(alice).post("/api-keys/create/", {"name": "office", "allowed_ips": "10.0.0.0/8\n\nnope"})
    assert response.status_code == 400
    assert "&#x27;nope&#x27; is not an IP address or a CIDR network. Line 3." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_allowlist_is_validated_as_you_type(alice):
    client = signed_in(alice)
    bad = client.post("/api-keys/validate/", {"field": "allowed_ips", "allowed_ips": "::1\n10.0.0.300"}, **HTMX)
    assert "is not an IP address or a CIDR network. Line 2." in bad.content.decode()
    good = client.post("/api-keys/validate/", {"field": "allowed_ips", "allowed_ips": "::1\n10.0.0.0/8"}, **HTMX)
    assert "Valid addresses" in good.content.decode()


def test_the_key_page_shows_and_updates_the_allowlist(alice):
    created = new_key(alice, allowed_ips=["192.0.2.0/24"])
    client = signed_in(alice)
    page = client.get(f"/api-keys/{created.key.id}/").content.decode()
    assert re.search(r'id="id_allowed_ips"[^>]*>192\.0\.2\.0/24</textarea>', page, re.S)
    form = {"role_descriptors": "{}", "metadata": "{}", "allowed_ips": "198.51.100.7"}
    assert client.post(f"/api-keys/{created.key.id}/", form).status_code == 302
    assert ApiKey.objects.get(pk=created.key.id).allowed_ips == ["198.51.100.7"]
    assert client.post(f"/api-keys/{created.key.id}/", {**form, "allowed_ips": ""}).status_code == 302
    assert ApiKey.objects.get(pk=created.key.id).allowed_ips is None
