"""Usage in the browser: the key page's Usage card (chart, summary, the same numbers in a table) with its
24-hour switch, the list's 7-day sparklines, and "Not used in 90 days" with "Delete unused"."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from apikeys.models import ApiKey
from tests.conftest import new_key
from tests.e2e.support import (
    dialog,
    make_keys,
    open_signed_in,
    rows,
    serious_accessibility_violations,
    signed_in_without_javascript,
)

DAY_MINUTES = 24 * 60


def call(page: Page, live_server, encoded: str) -> int:
    response = page.request.get(
        live_server.url + "/_security/_authenticate", headers={"Authorization": f"ApiKey {encoded}"}
    )
    return response.status


def wrong_secret(encoded: str) -> str:
    key_id = base64.b64decode(encoded).decode().split(":")[0]
    return base64.b64encode(f"{key_id}:wrong".encode()).decode()


def used_key(page: Page, live_server, owner, name: str, successes: int, refusals: int):
    key = new_key(owner, name)
    for _ in range(successes):
        assert call(page, live_server, key.encoded) == 200
    for _ in range(refusals):
        assert call(page, live_server, wrong_secret(key.encoded)) == 401
    return key


def usage_card(page: Page):
    return page.get_by_role("region", name="Usage")


def test_the_usage_card_shows_the_requests_in_a_chart_and_a_table(page: Page, live_server, alice, screenshot):
    key = used_key(page, live_server, alice, "cron-reader", successes=3, refusals=1)
    open_signed_in(page, live_server, alice, f"/api-keys/{key.key.id}/")

    card = usage_card(page)
    expect(card.locator(".usage-summary")).to_have_text("4 requests in 30 days, 1 refused; last used just now")
    chart = card.get_by_role("img")
    expect(chart).to_have_attribute("aria-label", re.compile(r"^Requests per day: 4 requests in 30 days"))
    table = card.locator("table")
    expect(table.locator("caption")).to_have_text("Requests per day")
    expect(table.locator("tbody tr")).to_have_count(30)
    today = datetime.now(UTC).strftime("%b %-d")
    expect(table.locator("tbody tr").last.locator("th, td")).to_have_text([today, "3", "1"])
    expect(table.locator("tbody tr").first.locator("td")).to_have_text(["0", "0"])
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(f"usage-card-{width}")
        assert serious_accessibility_violations(page) == [], width
    page.set_viewport_size({"width": 1280, "height": 900})

    card.get_by_role("link", name="24 hours").click()
    expect(page).to_have_url(re.compile(r"\?usage=24h#usage$"))
    card = usage_card(page)
    expect(card.locator(".usage-summary")).to_have_text("4 requests in 24 hours, 1 refused; last used just now")
    expect(card.get_by_role("link", name="24 hours")).to_have_attribute("aria-current", "true")
    expect(card.locator("table caption")).to_have_text("Requests per hour")
    expect(card.locator("table tbody tr")).to_have_count(24)
    hour = datetime.now(UTC).strftime("%H:00")
    expect(card.locator("table tbody tr").last.locator("th, td")).to_have_text([hour, "3", "1"])


def test_the_list_shows_a_seven_day_sparkline_beside_last_used(page: Page, live_server, alice, screenshot, settings):
    settings.APIKEYS_USAGE_FLUSH_SECONDS = 0  # each request's counts reach the table after its response
    used_key(page, live_server, alice, "busy", successes=5, refusals=0)
    new_key(alice, "idle")
    open_signed_in(page, live_server, alice)

    busy = rows(page).filter(has=page.get_by_role("link", name="busy"))
    expect(busy.locator("td[data-label='Last used'] svg")).to_have_attribute(
        "aria-label", "Requests in the last 7 days: 0, 0, 0, 0, 0, 0, 5"
    )
    idle = rows(page).filter(has=page.get_by_role("link", name="idle"))
    expect(idle.locator("td[data-label='Last used']")).to_contain_text("Never")
    expect(idle.locator("td[data-label='Last used'] svg")).to_have_attribute(
        "aria-label", "Requests in the last 7 days: 0, 0, 0, 0, 0, 0, 0"
    )
    screenshot("list-sparklines")
    assert serious_accessibility_violations(page) == []


def test_unused_keys_are_found_and_deleted_at_once(page: Page, live_server, admin, alice, screenshot):
    stale = make_keys(alice, "stale-1", "stale-2", minutes_ago=100 * DAY_MINUTES)
    make_keys(alice, "fresh")
    make_keys(alice, "stale-but-expired", minutes_ago=100 * DAY_MINUTES, expiration=datetime.now(UTC))
    open_signed_in(page, live_server, admin)

    status = page.get_by_label("Status")
    expect(status.locator("option[value=unused]")).to_have_text("Not used in 90 days (2)")
    status.select_option("unused")
    expect(rows(page).locator("td[data-label=Name] a")).to_have_text(["stale-1", "stale-2"])
    page.get_by_role("link", name="Delete unused").click()
    confirm = page.get_by_role("dialog", name="Delete 2 unused API keys?")
    expect(confirm).to_contain_text("2 active API keys not used in 90 days will stop working at once")
    screenshot("delete-unused")
    assert serious_accessibility_violations(page) == []
    confirm.get_by_role("button", name="Delete").click()

    expect(page.get_by_text("Deleted 2 API keys")).to_be_visible()
    expect(dialog(page)).to_have_count(0)
    assert set(ApiKey.objects.filter(invalidated=True).values_list("id", flat=True)) == {k.id for k in stale}


@pytest.fixture
def nojs_alice(browser: Browser, live_server, alice):
    with signed_in_without_javascript(browser, live_server, "alice", width=375) as page:
        yield page


def test_without_javascript_the_chart_is_drawn_and_switched(nojs_alice: Page, live_server, alice, screenshot):
    page = nojs_alice
    key = used_key(page, live_server, alice, "plain", successes=2, refusals=0)
    page.goto(f"{live_server.url}/api-keys/{key.key.id}/")
    card = usage_card(page)
    expect(card.get_by_role("img")).to_be_visible()
    expect(card.locator(".bar-ok")).to_have_count(30)
    screenshot("usage-card-no-js-375")
    card.get_by_role("link", name="24 hours").click()
    expect(usage_card(page).locator(".usage-summary")).to_have_text(
        "2 requests in 24 hours, 0 refused; last used just now"
    )
