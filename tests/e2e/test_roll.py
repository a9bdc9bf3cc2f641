"""Rolling a key in the browser: the dialog on the key page, the new key shown once and working, the old key's
page saying what replaced it and when it stops; the same without JavaScript on a phone; the Expiring soon
filter."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from apikeys.access.principals import Principal
from apikeys.domain import keys
from apikeys.models import ApiKey
from apikeys.services import roll_api_key
from tests.conftest import new_key
from tests.e2e.support import (
    authenticates,
    dialog,
    make_keys,
    open_signed_in,
    overview_value,
    rows,
    serious_accessibility_violations,
    signed_in_without_javascript,
)


def test_a_key_is_rolled_with_one_hour_of_grace_and_the_new_key_works(page: Page, live_server, alice, screenshot):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    old = new_key(alice, "nightly-backup", metadata={"team": "ops"})
    open_signed_in(page, live_server, alice, f"/api-keys/{old.key.id}/")

    page.get_by_role("link", name="Roll key").click()
    expect(page.get_by_role("dialog", name="Roll API key 'nightly-backup'?")).to_be_visible()
    roll = dialog(page)  # named by its heading, which becomes "Rolled API key …" once it is done
    choices = roll.get_by_role("group", name="Old key stops working")
    for label in ("Immediately", "In 1 hour", "In 24 hours", "In 7 days", "In 30 days"):
        expect(choices.get_by_role("radio", name=label)).to_be_visible()
    expect(choices.get_by_role("radio", name="In 24 hours")).to_be_checked()
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(f"roll-dialog-{width}")
        assert serious_accessibility_violations(page) == [], width
    page.set_viewport_size({"width": 1280, "height": 900})
    choices.get_by_role("radio", name="In 1 hour").check()
    roll.get_by_role("button", name="Roll key").click()

    expect(roll.get_by_role("heading", name="Rolled API key 'nightly-backup'")).to_be_visible()
    expect(roll.get_by_text("Copy this key now. You will not be able to view it again.")).to_be_visible()
    expect(roll.get_by_text(re.compile(r"^The old key stops working in \d+\s+minutes\.$"))).to_be_visible()
    field = roll.get_by_label("API key", exact=True)
    expect(field).to_be_focused()
    roll.get_by_role("button", name="Copy").click()
    expect(roll.get_by_text("Copied to the clipboard.")).to_be_visible()
    encoded = page.evaluate("navigator.clipboard.readText()")
    new_id, _ = keys.decode(encoded)
    successor = ApiKey.objects.get(pk=new_id)
    assert successor.rolled_from == old.key.id and successor.metadata == {"team": "ops"}
    assert authenticates(page, live_server, encoded) == 200
    assert authenticates(page, live_server, old.encoded) == 200  # within its hour of grace
    screenshot("roll-created")

    roll.get_by_role("link", name="Done").click()
    expect(dialog(page)).to_have_count(0)
    expect(overview_value(page, "Replaced by")).to_have_text(f"nightly-backup ({new_id})")
    expect(overview_value(page, "Status")).to_have_text("Expires in 1 hour")
    expect(page.get_by_role("link", name="Roll key")).to_have_count(0)
    expect(page.get_by_role("region", name="History")).to_contain_text("Rolled API key by alice")
    screenshot("roll-old-key-page")

    overview_value(page, "Replaced by").get_by_role("link", name="nightly-backup").click()
    expect(page).to_have_url(re.compile(f"/api-keys/{new_id}/$"))
    expect(overview_value(page, "Replaces")).to_have_text(old.key.id)
    expect(page.get_by_role("link", name="Roll key")).to_be_visible()
    assert serious_accessibility_violations(page) == []


def test_the_roll_dialog_is_left_with_escape_and_nothing_changes(page: Page, live_server, alice):
    old = new_key(alice, "keep-me")
    open_signed_in(page, live_server, alice, f"/api-keys/{old.key.id}/")
    opener = page.get_by_role("link", name="Roll key")
    opener.click()
    expect(page.get_by_role("dialog", name="Roll API key 'keep-me'?")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog(page)).to_have_count(0)
    expect(opener).to_be_focused()
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().rolled_to is None


def test_keys_that_cannot_be_rolled_have_no_roll_button(page: Page, live_server, alice):
    expired = new_key(alice, "old", expiration="1d").key
    ApiKey.objects.filter(pk=expired.pk).update(expiration=timezone.now() - timedelta(minutes=1))
    rolled = new_key(alice, "rolled")
    roll_api_key(Principal.for_user(alice), rolled.key.id, {"grace_period": "7d"})
    open_signed_in(page, live_server, alice, f"/api-keys/{expired.id}/")
    expect(page.get_by_role("heading", name="API key details")).to_be_visible()
    expect(page.get_by_role("link", name="Roll key")).to_have_count(0)
    page.goto(f"{live_server.url}/api-keys/{rolled.key.id}/")  # rolled already: its successor rolls on
    expect(page.get_by_role("heading", name="Update API key")).to_be_visible()
    expect(page.get_by_role("link", name="Roll key")).to_have_count(0)


@pytest.fixture
def nojs_alice(browser: Browser, live_server, alice):
    with signed_in_without_javascript(browser, live_server, "alice", width=375) as page:
        yield page


def test_without_javascript_a_key_is_rolled_on_a_phone(nojs_alice: Page, live_server, alice, screenshot):
    page = nojs_alice
    old = new_key(alice, "phone-key")
    page.goto(f"{live_server.url}/api-keys/{old.key.id}/")
    page.get_by_role("link", name="Roll key").click()
    expect(page).to_have_url(re.compile(f"/api-keys/{old.key.id}/roll/$"))
    page.get_by_role("radio", name="Immediately").check()
    screenshot("roll-no-js-375", of=page)  # axe needs JavaScript: the dialog's test checks it at 375 px too
    page.get_by_role("button", name="Roll key").click()

    expect(page.get_by_role("heading", name="Rolled API key 'phone-key'")).to_be_visible()
    expect(page.get_by_text("The old key has stopped working.")).to_be_visible()
    encoded = page.get_by_label("API key", exact=True).input_value()
    assert authenticates(page, live_server, encoded) == 200
    assert authenticates(page, live_server, old.encoded) == 401  # no grace: it stopped at once
    page.get_by_role("link", name="Done").click()
    expect(overview_value(page, "Replaced by")).to_contain_text("phone-key (")
    expect(overview_value(page, "Status")).to_have_text("Expired")


def test_expiring_soon_filter_shows_the_keys_about_to_expire_with_a_warning(page: Page, live_server, alice, screenshot):
    now = timezone.now()
    make_keys(alice, "in-three-days", expiration=now + timedelta(days=3, minutes=5))
    make_keys(alice, "in-six-days", expiration=now + timedelta(days=6), minutes_ago=1)
    make_keys(alice, "next-month", expiration=now + timedelta(days=30), minutes_ago=2)
    make_keys(alice, "no-expiry", minutes_ago=3)
    make_keys(alice, "gone", expiration=now - timedelta(hours=1), minutes_ago=4)
    open_signed_in(page, live_server, alice)

    status = page.get_by_label("Status")
    expect(status.locator("option[value=expiring]")).to_have_text("Expiring soon (2)")
    status.select_option("expiring")
    expect(page).to_have_url(re.compile(r"status=expiring"))
    expect(rows(page).locator("td[data-label=Name] a")).to_have_text(["in-three-days", "in-six-days"])
    badge = rows(page).first.locator(".badge.warning")
    expect(badge).to_have_text("Expires in 3 days")
    screenshot("expiring-soon")
    assert serious_accessibility_violations(page) == []
