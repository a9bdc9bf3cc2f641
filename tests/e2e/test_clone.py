"""Cloning a key in the browser: the dialog on the key page (a name, an expiration), the new key shown once and
working, listed at once and saying where it came from; Escape leaves nothing behind; the same without JavaScript
on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from apikeys.domain import keys
from apikeys.models import ApiKey
from tests.conftest import new_key
from tests.e2e.support import (
    authenticates,
    dialog,
    open_signed_in,
    overview_value,
    rows,
    serious_accessibility_violations,
    signed_in_without_javascript,
)

BOOKS = {"books": {"cluster": [], "indices": [{"names": ["books"], "privileges": ["read"]}]}}


def test_a_key_is_cloned_from_its_page_shown_once_and_listed(page: Page, live_server, alice, screenshot):
    source = new_key(alice, "nightly-backup", role_descriptors=BOOKS, metadata={"team": "ops"})
    open_signed_in(page, live_server, alice, f"/api-keys/{source.key.id}/")
    screenshot("clone-key-page")

    page.get_by_role("link", name="Clone key").click()
    expect(page.get_by_role("dialog", name="Clone API key 'nightly-backup'?")).to_be_visible()
    clone = dialog(page)  # named by its heading, which becomes "Cloned API key …" once it is done
    name = clone.get_by_label("Name", exact=True)
    expect(name).to_have_value("nightly-backup")
    expect(name).to_be_focused()
    expiration = clone.get_by_label("Expiration")
    expect(expiration.locator("option:checked")).to_have_text("Same as this key")
    expect(clone.get_by_text("This key never expires.")).to_be_visible()
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(f"clone-dialog-{width}")
        assert serious_accessibility_violations(page) == [], width
    page.set_viewport_size({"width": 1280, "height": 900})
    name.fill("nightly-backup-copy")
    expiration.select_option(label="In 30 days")
    clone.get_by_role("button", name="Clone key").click()

    expect(clone.get_by_role("heading", name="Cloned API key 'nightly-backup-copy'")).to_be_visible()
    expect(clone.get_by_text("Copy this key now. You will not be able to view it again.")).to_be_visible()
    field = clone.get_by_label("API key", exact=True)
    expect(field).to_be_focused()
    encoded = field.input_value()
    new_id, _ = keys.decode(encoded)
    cloned = ApiKey.objects.get(pk=new_id)
    assert cloned.role_descriptors == source.key.role_descriptors
    assert cloned.metadata == {"team": "ops", "_cloned_from": source.key.id} and cloned.expiration is not None
    assert authenticates(page, live_server, encoded) == 200
    assert authenticates(page, live_server, source.encoded) == 200  # the source keeps working
    screenshot("clone-created")
    assert serious_accessibility_violations(page) == []

    clone.get_by_role("link", name="Done").click()
    expect(page).to_have_url(re.compile(r"/api-keys/$"))
    listed = rows(page).filter(has_text="nightly-backup-copy")
    expect(listed).to_have_count(1)
    expect(listed.get_by_text("Expires in 4 weeks")).to_be_visible()
    screenshot("clone-listed")
    assert encoded not in page.content()

    listed.get_by_role("link", name="nightly-backup-copy", exact=True).click()
    expect(overview_value(page, "Cloned from")).to_have_text(source.key.id)
    assert encoded not in page.content() and cloned.id in page.content()
    screenshot("clone-page-of-the-clone")
    overview_value(page, "Cloned from").get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"/api-keys/{source.key.id}/$"))


def test_the_clone_dialog_is_left_with_escape_and_nothing_changes(page: Page, live_server, alice):
    source = new_key(alice, "keep-me")
    open_signed_in(page, live_server, alice, f"/api-keys/{source.key.id}/")
    opener = page.get_by_role("link", name="Clone key")
    opener.click()
    expect(page.get_by_role("dialog", name="Clone API key 'keep-me'?")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog(page)).to_have_count(0)
    expect(opener).to_be_focused()
    assert ApiKey.objects.count() == 1


def test_a_bad_name_is_said_in_the_dialog(page: Page, live_server, alice, screenshot):
    source = new_key(alice, "src")
    open_signed_in(page, live_server, alice, f"/api-keys/{source.key.id}/")
    page.get_by_role("link", name="Clone key").click()
    clone = page.get_by_role("dialog", name="Clone API key 'src'?")
    clone.get_by_label("Name", exact=True).fill("_reserved")
    clone.get_by_role("button", name="Clone key").click()
    expect(clone.get_by_role("alert")).to_have_text("api key name may not begin with an underscore")
    expect(clone.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
    screenshot("clone-dialog-refused")
    assert ApiKey.objects.count() == 1


@pytest.fixture
def nojs_alice(browser: Browser, live_server, alice):
    with signed_in_without_javascript(browser, live_server, "alice", width=375) as page:
        yield page


def test_without_javascript_a_key_is_cloned_on_a_phone(nojs_alice: Page, live_server, alice, screenshot):
    page = nojs_alice
    source = new_key(alice, "phone-key", expiration="2d")
    page.goto(f"{live_server.url}/api-keys/{source.key.id}/")
    page.get_by_role("link", name="Clone key").click()
    expect(page).to_have_url(re.compile(f"/api-keys/{source.key.id}/clone/$"))
    expect(page.get_by_text(re.compile(r"^This key expires on "))).to_be_visible()
    page.get_by_label("Expiration").select_option(label="Never")
    screenshot("clone-no-js-375", of=page)
    page.get_by_role("button", name="Clone key").click()

    expect(page.get_by_role("heading", name="Cloned API key 'phone-key'")).to_be_visible()
    encoded = page.get_by_label("API key", exact=True).input_value()
    assert authenticates(page, live_server, encoded) == 200
    assert ApiKey.objects.get(pk=keys.decode(encoded)[0]).expiration is None
    screenshot("clone-no-js-created-375", of=page)
    page.get_by_role("link", name="Done").click()
    expect(rows(page).filter(has_text="phone-key")).to_have_count(2)
