"""The list: search as you type, filters, sorting, pagination, the URL as the state, who sees what."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from django.utils import timezone
from playwright.sync_api import Page, expect

from apikeys.models import ApiKey
from apikeys.services import create_managed_api_key
from tests.e2e.support import expect_names, expired, invalidated, make_key, make_keys, open_signed_in, row_names, rows
from tests.e2e.test_sign_in import sign_in


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_search_narrows_the_list_as_you_type_and_the_back_button_undoes_it(page: Page, live_server, alice, screenshot):
    make_keys(alice, "alpha-web", "alpha-batch", "beta-web", "gamma-cron")
    open_signed_in(page, live_server, alice)
    expect(rows(page)).to_have_count(4)
    screenshot("list")

    # No Enter, no button: the list follows the text (fill is one input event, so one history entry each).
    search = page.get_by_role("searchbox", name="Search API keys")
    search.fill("alpha")
    expect(page).to_have_url(re.compile(r"[?&]q=alpha(&|$)"))
    expect_names(page, ["alpha-web", "alpha-batch"])
    expect(page.get_by_text("Showing 1–2 of 2 API keys")).to_be_visible()
    search.fill("alpha-w")
    expect(page).to_have_url(re.compile(r"[?&]q=alpha-w(&|$)"))
    expect_names(page, ["alpha-web"])

    page.go_back()
    expect(page).to_have_url(re.compile(r"[?&]q=alpha(&|$)"))
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_role("searchbox", name="Search API keys")).to_have_value("alpha")
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(rows(page)).to_have_count(4)
    assert ApiKey.objects.filter(owner=alice, invalidated=False).count() == 4


def test_the_type_status_and_owner_filters_narrow_the_list(page: Page, live_server, admin, alice, bob):
    make_keys(alice, "alice-live", "alice-live-2")
    make_key(alice, "alice-old", **expired())
    make_key(alice, "alice-gone", **invalidated())
    make_keys(bob, "bob-live")
    create_managed_api_key("fleet")
    open_signed_in(page, live_server, admin)
    expect(rows(page)).to_have_count(5)
    assert sorted(row_names(page)) == ["alice-live", "alice-live-2", "alice-old", "bob-live", "fleet"]

    type_filter = page.get_by_label("Type")
    expect(type_filter.get_by_role("option", name="Managed (1)")).to_be_attached()
    type_filter.select_option("managed")
    expect(page).to_have_url(re.compile(r"type=managed"))
    expect(rows(page)).to_have_count(1)
    expect_names(page, ["fleet"])
    type_filter.select_option("personal")
    expect(rows(page)).to_have_count(4)
    assert "fleet" not in row_names(page)

    status = page.get_by_label("Status")
    status.select_option("expired")
    expect(page).to_have_url(re.compile(r"status=expired"))
    expect(rows(page)).to_have_count(1)
    expect_names(page, ["alice-old"])
    status.select_option("invalidated")
    expect(rows(page).first).to_contain_text("alice-gone")
    expect_names(page, ["alice-gone"])
    expect(rows(page).first).to_contain_text("Invalidated")
    status.select_option("active")
    expect(rows(page)).to_have_count(3)

    owner = page.get_by_label("Owner")
    owner.select_option("bob")
    expect(page).to_have_url(re.compile(r"owner=bob"))
    expect(rows(page)).to_have_count(1)
    expect_names(page, ["bob-live"])
    assert query_of(page) == {"type": ["personal"], "status": ["active"], "owner": ["bob"]}

    page.go_back()
    expect(rows(page)).to_have_count(3)
    expect(page.get_by_label("Owner")).to_have_value("")
    expect(page.get_by_label("Status")).to_have_value("active")
    assert ApiKey.objects.count() == 6


def test_the_filter_counts_follow_the_search(page: Page, live_server, admin, alice, bob):
    make_keys(alice, "web-1", "web-2", "cron-1")
    make_key(bob, "web-old", **expired())
    create_managed_api_key("web-fleet")
    open_signed_in(page, live_server, admin)
    type_filter, status = page.get_by_label("Type"), page.get_by_label("Status")
    expect(type_filter.locator("option")).to_have_text(
        ["All types", "Personal (4)", "Managed (1)", "Cross-cluster (0)"]
    )
    expect(status.locator("option")).to_have_text(
        [
            "Active and expired",
            "Active (4)",
            "Expiring soon (0)",
            "Not used in 90 days (0)",
            "Expired (1)",
            "Invalidated (0)",
        ]
    )
    page.get_by_role("searchbox", name="Search API keys").press_sequentially("cron")
    expect(rows(page)).to_have_count(1)
    expect(type_filter.locator("option")).to_have_text(
        ["All types", "Personal (1)", "Managed (0)", "Cross-cluster (0)"]
    )
    expect(status.locator("option")).to_have_text(
        [
            "Active and expired",
            "Active (1)",
            "Expiring soon (0)",
            "Not used in 90 days (0)",
            "Expired (0)",
            "Invalidated (0)",
        ]
    )
    page.get_by_role("searchbox", name="Search API keys").fill("web")
    expect(rows(page)).to_have_count(4)
    status.focus()
    status.select_option("expired")
    expect(rows(page)).to_have_count(1)
    expect(status).to_be_focused()
    expect(status.locator("option")).to_have_text(
        [
            "Active and expired",
            "Active (3)",
            "Expiring soon (0)",
            "Not used in 90 days (0)",
            "Expired (1)",
            "Invalidated (0)",
        ]
    )
    type_filter.select_option("managed")
    expect(page.get_by_role("heading", name="No API keys match your search")).to_be_visible()
    assert query_of(page) == {"q": ["web"], "type": ["managed"], "status": ["expired"]}
    assert ApiKey.objects.count() == 5


def test_clicking_column_headers_sorts_and_the_back_button_restores_the_order(
    page: Page, live_server, admin, alice, bob
):
    # Created newest first: delta, charlie-key, alpha, bravo.
    make_keys(alice, "delta", "alpha", minutes_apart=10)
    make_keys(bob, "charlie-key", "bravo", minutes_ago=5, minutes_apart=10)
    open_signed_in(page, live_server, admin)
    expect_names(page, ["delta", "charlie-key", "alpha", "bravo"])
    created = page.get_by_role("columnheader", name="Created")
    expect(created).to_have_attribute("aria-sort", "descending")

    page.get_by_role("link", name="Name", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=name"))
    expect(rows(page).first).to_contain_text("alpha")
    expect_names(page, ["alpha", "bravo", "charlie-key", "delta"])
    expect(page.get_by_role("columnheader", name="Name")).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("link", name="Name", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=-name"))
    expect(rows(page).first).to_contain_text("delta")
    expect_names(page, ["delta", "charlie-key", "bravo", "alpha"])

    page.get_by_role("link", name="Owner", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=owner"))
    expect(rows(page).first).to_contain_text("alice")
    page.get_by_role("link", name="Created", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=created"))
    expect_names(page, ["bravo", "alpha", "charlie-key", "delta"])

    page.go_back()
    expect(page).to_have_url(re.compile(r"sort=owner"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"sort=-name"))
    expect(rows(page).first).to_contain_text("delta")
    expect_names(page, ["delta", "charlie-key", "bravo", "alpha"])

    # Searching and filtering keep the chosen order.
    page.get_by_role("searchbox", name="Search API keys").fill("a")
    expect(page).to_have_url(re.compile(r"q=a"))
    assert query_of(page) == {"q": ["a"], "sort": ["-name"]}
    expect_names(page, ["delta", "charlie-key", "bravo", "alpha"])
    page.get_by_label("Owner").select_option("bob")
    expect(rows(page)).to_have_count(2)
    assert query_of(page) == {"q": ["a"], "owner": ["bob"], "sort": ["-name"]}
    expect_names(page, ["charlie-key", "bravo"])


def test_next_previous_and_rows_per_page(page: Page, live_server, alice, screenshot):
    make_keys(alice, *(f"key-{i:02d}" for i in range(60)))
    open_signed_in(page, live_server, alice)
    expect(rows(page)).to_have_count(25)
    expect(page.get_by_text("Page 1 of 3")).to_be_visible()
    assert row_names(page)[0] == "key-00"
    expect(page.get_by_role("link", name="Previous")).to_have_count(0)

    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text("Page 2 of 3")).to_be_visible()
    expect(page).to_have_url(re.compile(r"page=2"))
    assert row_names(page)[0] == "key-25"
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text("Page 3 of 3")).to_be_visible()
    expect(rows(page)).to_have_count(10)
    expect(page.get_by_role("link", name="Next")).to_have_count(0)
    expect(page.get_by_text("Showing 51–60 of 60 API keys")).to_be_visible()
    page.get_by_role("link", name="Previous").click()
    expect(page.get_by_text("Page 2 of 3")).to_be_visible()

    page.get_by_role("link", name="50", exact=True).click()
    expect(page).to_have_url(re.compile(r"per_page=50"))
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    expect(rows(page)).to_have_count(50)
    page.get_by_role("link", name="100", exact=True).click()
    expect(rows(page)).to_have_count(60)
    assert query_of(page) == {"per_page": ["100"], "page": ["1"]}

    # Searching keeps the chosen page size, and the back button walks the whole way back.
    page.get_by_role("searchbox", name="Search API keys").fill("key-5")
    expect(rows(page)).to_have_count(10)
    assert query_of(page) == {"q": ["key-5"], "per_page": ["100"]}
    page.go_back()
    expect(rows(page)).to_have_count(60)
    page.go_back()
    expect(rows(page)).to_have_count(50)
    page.go_back()
    expect(page.get_by_text("Page 2 of 3")).to_be_visible()
    assert row_names(page)[0] == "key-25"
    assert ApiKey.objects.count() == 60


def test_back_from_a_key_page_to_a_searched_list_shows_the_whole_page(page: Page, live_server, alice, browser_errors):
    make_keys(alice, "alpha-1", "alpha-2", "beta")
    open_signed_in(page, live_server, alice)
    page.get_by_role("searchbox", name="Search API keys").fill("alpha")
    expect(page).to_have_url(re.compile(r"q=alpha"))
    expect(rows(page)).to_have_count(2)
    page.get_by_role("link", name="alpha-1", exact=True).click()
    expect(page.get_by_role("heading", name="Update API key")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"q=alpha"))
    # The cached fragment has no icon link, so Chromium asks for /favicon.ico (404): part of the same bug.
    browser_errors.clear()
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible(timeout=2000)
    expect(page.get_by_role("searchbox", name="Search API keys")).to_have_value("alpha")
    expect(rows(page)).to_have_count(2)
    assert ApiKey.objects.count() == 3


def test_a_bookmarked_url_opens_the_same_view(page: Page, live_server, admin, alice, bob):
    make_keys(alice, "alpha-1", "alpha-2", "alpha-3")
    make_keys(bob, "alpha-bob")
    open_signed_in(page, live_server, admin, "/api-keys/?q=alpha&owner=alice&sort=-name&per_page=50")
    expect(page.get_by_role("searchbox", name="Search API keys")).to_have_value("alpha")
    expect(page.get_by_label("Owner")).to_have_value("alice")
    expect_names(page, ["alpha-3", "alpha-2", "alpha-1"])


def test_a_user_with_own_keys_sees_only_hers_with_a_note_and_no_owner_column(page: Page, live_server, alice, bob):
    make_keys(alice, "alice-key")
    make_keys(bob, "bob-key")
    open_signed_in(page, live_server, alice)
    expect(page.get_by_text("You are viewing your own API keys only.")).to_be_visible()
    expect_names(page, ["alice-key"])
    expect(page.get_by_role("columnheader", name="Owner")).to_have_count(0)
    expect(page.get_by_label("Owner")).to_have_count(0)
    expect(page.get_by_role("link", name="Delete alice-key")).to_be_visible()
    expect(page.get_by_role("link", name="Delete all expired")).to_have_count(0)
    page.get_by_role("searchbox", name="Search API keys").fill("bob")
    expect(page.get_by_role("heading", name="No API keys match your search")).to_be_visible()
    assert ApiKey.objects.filter(owner=bob).count() == 1


def test_an_admin_sees_every_key_with_the_owner_column(page: Page, live_server, admin, alice, bob):
    make_keys(alice, "alice-key")
    make_keys(bob, "bob-key", minutes_ago=5)
    open_signed_in(page, live_server, admin)
    expect(page.get_by_text("You are viewing your own API keys only.")).to_have_count(0)
    expect(page.get_by_role("columnheader", name="Owner")).to_be_visible()
    expect_names(page, ["alice-key", "bob-key"])
    expect(page.get_by_role("row").filter(has_text="bob-key")).to_contain_text("bob")
    expect(page.get_by_role("link", name="Delete all expired")).to_be_visible()
    assert ApiKey.objects.values("owner").distinct().count() == 2


def test_a_reader_sees_every_key_but_deletes_none(page: Page, live_server, reader, alice):
    make_keys(alice, "alice-key")
    open_signed_in(page, live_server, reader)
    expect(page.get_by_role("columnheader", name="Owner")).to_be_visible()
    expect_names(page, ["alice-key"])
    expect(page.get_by_role("link", name="Delete alice-key")).to_have_count(0)
    expect(page.get_by_role("checkbox", name="Select all matching")).to_have_count(0)
    expect(page.get_by_role("link", name="Create API key")).to_have_count(0)
    assert not ApiKey.objects.filter(invalidated=True).exists()


def test_the_three_empty_states(page: Page, live_server, alice, charlie, screenshot):
    open_signed_in(page, live_server, alice)
    expect(page.get_by_role("heading", name="Create your first API key")).to_be_visible()
    empty = page.get_by_role("region", name="Create your first API key")
    expect(empty.get_by_role("link", name="Create API key")).to_be_visible()
    screenshot("empty-no-keys")
    empty.get_by_role("link", name="Create API key").click()
    expect(page.get_by_role("dialog", name="Create API key")).to_be_visible()
    page.keyboard.press("Escape")

    make_keys(alice, "only-key")
    page.goto(f"{live_server.url}/?q=nothing-like-this")
    expect(page.get_by_role("heading", name="No API keys match your search")).to_be_visible()
    screenshot("empty-no-match")
    page.get_by_role("link", name="Reset search").click()
    expect(page).to_have_url(re.compile(r"/api-keys/$"))
    expect_names(page, ["only-key"])
    expect(page.get_by_role("searchbox", name="Search API keys")).to_have_value("")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server.url, "charlie")
    expect(page.get_by_role("heading", name="You do not have permission to manage API keys")).to_be_visible()
    expect(page.get_by_role("link", name="Create API key")).to_have_count(0)
    expect(page.get_by_role("searchbox", name="Search API keys")).to_have_count(0)
    screenshot("empty-not-allowed")
    assert not ApiKey.objects.filter(owner=charlie).exists()


def test_the_list_works_375_pixels_wide(page: Page, live_server, admin, alice, screenshot):
    make_keys(alice, *(f"phone-key-{i}" for i in range(5)))
    make_key(alice, "expiring", expiration=timezone.now() + timedelta(days=3), minutes_ago=30)
    page.set_viewport_size({"width": 375, "height": 800})
    open_signed_in(page, live_server, admin)
    expect(rows(page)).to_have_count(6)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    expect(page.get_by_role("link", name="Create API key")).to_be_in_viewport()
    page.get_by_label("Select phone-key-1").check()
    expect(page.get_by_role("button", name="Delete 1 API key")).to_be_visible()
    screenshot("list-375")
    # The rows are cards at this width; sorting stays at hand as a row of links.
    page.get_by_role("link", name="Name", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=name"))
    expect_names(page, ["expiring", *(f"phone-key-{i}" for i in range(5))])
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("link", name="Create API key").click()
    expect(page.get_by_role("dialog", name="Create API key")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot("flyout-375")
    assert ApiKey.objects.count() == 6
