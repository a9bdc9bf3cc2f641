"""The Leaked badge and the "Allowed IP addresses" field in a browser: axe finds nothing serious at 1280 and
375 px, live validation names the line of a bad entry, and both work with JavaScript off."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from apikeys.models import ApiKey
from tests.conftest import new_key
from tests.e2e.support import open_signed_in, signed_in_without_javascript
from tests.e2e.test_accessibility import check

FOUND_AT = "https://github.com/octocat/hello/blob/1a2b3c/config.env"


def leak(key: ApiKey, invalidated: bool) -> None:
    ApiKey.objects.filter(pk=key.id).update(
        leaked={"url": FOUND_AT, "source": "content", "reported": 1},
        invalidated=invalidated,
        invalidation=timezone.now() if invalidated else None,
    )


def test_the_leaked_badge_in_the_list_links_to_where_the_key_was_found(page: Page, live_server, alice, screenshot):
    leaked = new_key(alice, "deploy-bot").key
    new_key(alice, "ci-runner")
    leak(leaked, invalidated=False)
    open_signed_in(page, live_server, alice)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="deploy-bot", exact=True))
    badge = row.get_by_role("link", name=re.compile("^Leaked"))
    expect(badge).to_have_attribute("href", FOUND_AT)
    expect(page.get_by_role("row").filter(has_text="ci-runner").get_by_text("Leaked")).to_have_count(0)
    check(page, screenshot, "leaked-list")


def test_the_key_page_says_it_leaked_and_where(page: Page, live_server, alice, screenshot):
    leaked = new_key(alice, "deploy-bot").key
    leak(leaked, invalidated=True)
    open_signed_in(page, live_server, alice, f"/api-keys/{leaked.id}/")
    note = page.get_by_role("note").filter(has_text="Secret scanning found this key")
    expect(note).to_contain_text("It was invalidated.")
    expect(note.get_by_role("link", name=FOUND_AT)).to_be_visible()
    check(page, screenshot, "leaked-key-page")


def test_the_flyout_validates_allowed_addresses_as_you_type_and_creates_the_key(
    page: Page, live_server, alice, screenshot
):
    open_signed_in(page, live_server, alice)
    page.get_by_role("link", name="Create API key").first.click()
    flyout = page.get_by_role("dialog", name="Create API key")
    flyout.get_by_label("Name", exact=True).fill("office-only")
    field = flyout.get_by_label("Allowed IP addresses")
    field.fill("10.0.0.0/8\n10.0.0.300")
    expect(flyout.locator("#allowed_ips-status")).to_contain_text(
        "'10.0.0.300' is not an IP address or a CIDR network. Line 2."
    )
    check(page, screenshot, "allowlist-flyout-error")
    field.fill("10.0.0.0/8\n2001:DB8::/32")
    expect(flyout.locator("#allowed_ips-status")).to_contain_text("Valid addresses")
    flyout.get_by_role("button", name="Create API key").click()
    expect(flyout.get_by_role("heading", name="Created API key 'office-only'")).to_be_visible()
    assert ApiKey.objects.get(name="office-only").allowed_ips == ["10.0.0.0/8", "2001:db8::/32"]


def test_the_key_page_edits_the_allowlist(page: Page, live_server, alice, screenshot):
    created = new_key(alice, "office-only", allowed_ips=["192.0.2.0/24"]).key
    open_signed_in(page, live_server, alice, f"/api-keys/{created.id}/")
    field = page.get_by_label("Allowed IP addresses")
    expect(field).to_have_value("192.0.2.0/24")
    field.fill("192.0.2.0/24\n198.51.100.7")
    expect(page.locator("#allowed_ips-status")).to_contain_text("Valid addresses")
    check(page, screenshot, "allowlist-key-page")
    page.get_by_role("button", name="Update API key").click()
    expect(page.get_by_text("Updated API key 'office-only'")).to_be_visible()
    assert ApiKey.objects.get(pk=created.id).allowed_ips == ["192.0.2.0/24", "198.51.100.7"]


@pytest.fixture
def nojs_page(browser: Browser, live_server, alice):
    with signed_in_without_javascript(browser, live_server, "alice", width=375) as page:
        yield page


def test_without_javascript_the_create_page_takes_an_allowlist_and_names_a_bad_line(nojs_page: Page, screenshot):
    page = nojs_page
    page.get_by_role("link", name="Create API key").first.click()
    page.get_by_label("Name").fill("no-js-office")
    page.get_by_label("Allowed IP addresses").fill("::1\nnope")
    page.get_by_role("button", name="Create API key").click()
    expect(page.get_by_text("'nope' is not an IP address or a CIDR network. Line 2.")).to_be_visible()
    screenshot("allowlist-nojs-error", of=page)
    assert not ApiKey.objects.exists()
    page.get_by_label("Allowed IP addresses").fill("::1")
    page.get_by_role("button", name="Create API key").click()
    expect(page.get_by_text("Created API key 'no-js-office'")).to_be_visible()
    assert ApiKey.objects.get().allowed_ips == ["::1"]


def test_without_javascript_the_leaked_badge_shows_in_the_list(nojs_page: Page, alice, screenshot):
    leak(new_key(alice, "deploy-bot").key, invalidated=False)
    page = nojs_page
    page.reload()
    expect(page.get_by_role("link", name=re.compile("^Leaked")).first).to_have_attribute("href", FOUND_AT)
    screenshot("leaked-list-nojs-375", of=page)
