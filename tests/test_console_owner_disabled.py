"""The console marks the keys of a disabled owner: an "Owner disabled" badge on their rows in the list (read with
the rows, never a query per row) and on the key's page, with a sentence saying what it means."""

from __future__ import annotations

import re

from apikeys.models import ApiKey, User
from apikeys.readmodels.listing import READ_ROWS_WHEN_SKIPPING
from tests.conftest import make_keys, make_user, new_key
from tests.test_console_views import list_queries, signed_in

BADGE = '<span class="badge danger">Owner disabled</span>'


def disable(*users: User) -> None:
    User.objects.filter(pk__in=[user.pk for user in users]).update(is_active=False)


def rows_with_badge(html: str) -> list[str]:
    """The names of the listed keys whose row carries the badge."""
    rows = re.findall(r"<tr>(.*?)</tr>", html)
    return [re.search(r'<a href="/api-keys/[^"]+/">([^<]+)</a>', row).group(1) for row in rows if BADGE in row]


def test_the_list_marks_only_the_keys_of_disabled_owners(admin, alice, bob):
    new_key(alice, "alices")
    new_key(bob, "bobs")
    disable(alice)
    page = signed_in(admin).get("/api-keys/").content.decode()
    assert rows_with_badge(page) == ["alices"]
    assert "bobs" in page


def test_the_badge_costs_no_query_per_row(admin):
    client = signed_in(admin)
    owners = [make_user(f"owner{i:02d}") for i in range(25)]
    make_keys(owners[0], 1, prefix="first")
    disable(owners[0])
    one_row = list_queries(client, "/api-keys/")
    for i, owner in enumerate(owners[1:], 1):
        make_keys(owner, 1, prefix=f"more{i:02d}", id_prefix=chr(ord("A") + i))  # ids are 20 characters
    disable(*owners)
    page = client.get("/api-keys/").content.decode()
    assert len(rows_with_badge(page)) == 25
    assert list_queries(client, "/api-keys/") == one_row


def test_a_deep_page_read_by_ids_first_marks_them_too(admin, alice):
    make_keys(alice, 2 * READ_ROWS_WHEN_SKIPPING + 100)
    disable(alice)
    total = ApiKey.objects.count()
    page_number = total // 2 // 25  # past READ_ROWS_WHEN_SKIPPING from the front, not past the middle
    assert (page_number - 1) * 25 > READ_ROWS_WHEN_SKIPPING
    page = signed_in(admin).get(f"/api-keys/?page={page_number}").content.decode()
    assert len(rows_with_badge(page)) == 25


def test_the_key_page_shows_the_badge_and_says_what_it_means(admin, alice):
    created = new_key(alice, "nightly")
    client = signed_in(admin)
    enabled_page = client.get(f"/api-keys/{created.key.id}/").content.decode()
    assert "Owner disabled" not in enabled_page and "is disabled" not in enabled_page
    disable(alice)
    page = client.get(f"/api-keys/{created.key.id}/").content.decode()
    assert BADGE in page
    assert "Its owner, alice, is disabled: every request with this API key is refused until they are enabled." in page
