"""Deleting (invalidating) keys: row action, checked rows, every key matching a search, every expired key."""

import re

from playwright.sync_api import Page, expect

from apikeys.models import ApiKey
from apikeys.services import create_managed_api_key
from tests.e2e.support import expect_names, expired, invalidated, make_key, make_keys, open_signed_in


def invalidated_names() -> set[str]:
    return set(ApiKey.objects.filter(invalidated=True).values_list("name", flat=True))


def test_three_checked_keys_are_deleted_in_one_go(page: Page, live_server, alice, screenshot):
    make_keys(alice, "one", "two", "three", "kept")
    open_signed_in(page, live_server, alice)
    for name in ("one", "two", "three"):
        page.get_by_role("checkbox", name=f"Select {name}").check()
    bulk = page.get_by_role("button", name="Delete 3 API keys")
    expect(bulk).to_be_visible()
    bulk.click()

    confirm = page.get_by_role("dialog", name="Delete 3 API keys?")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("listitem")).to_have_text(["one", "three", "two"])
    expect(confirm.get_by_role("link", name="Cancel")).to_be_focused()
    screenshot("confirm-dialog")
    confirm.get_by_role("button", name="Delete", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text("Deleted 3 API keys")
    expect_names(page, ["kept"])
    assert invalidated_names() == {"one", "two", "three"}
    assert ApiKey.objects.filter(invalidated=True, invalidation__isnull=True).count() == 0


def test_the_bulk_button_counts_the_checked_rows(page: Page, live_server, alice):
    make_keys(alice, "one", "two")
    open_signed_in(page, live_server, alice)
    expect(page.get_by_role("button", name=re.compile(r"^Delete \d"))).to_be_hidden()
    page.get_by_role("checkbox", name="Select one").check()
    expect(page.get_by_role("button", name="Delete 1 API key", exact=True)).to_be_visible()
    page.get_by_role("checkbox", name="Select two").check()
    expect(page.get_by_role("button", name="Delete 2 API keys")).to_be_visible()
    page.get_by_role("checkbox", name="Select one").uncheck()
    page.get_by_role("checkbox", name="Select two").uncheck()
    expect(page.get_by_role("button", name=re.compile(r"^Delete \d"))).to_be_hidden()
    assert not invalidated_names()


def test_the_row_action_deletes_one_key(page: Page, live_server, alice):
    make_keys(alice, "doomed", "kept")
    open_signed_in(page, live_server, alice)
    page.get_by_role("link", name="Delete doomed").click()
    confirm = page.get_by_role("dialog", name="Delete API key 'doomed'?")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("listitem")).to_have_text(["doomed"])
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Deleted API key 'doomed'")
    expect_names(page, ["kept"])
    assert invalidated_names() == {"doomed"}


def test_cancel_and_escape_delete_nothing_and_focus_returns(page: Page, live_server, alice):
    make_keys(alice, "spared", "other")
    open_signed_in(page, live_server, alice)
    row_action = page.get_by_role("link", name="Delete spared")
    row_action.click()
    confirm = page.get_by_role("dialog", name="Delete API key 'spared'?")
    confirm.get_by_role("link", name="Cancel").click()
    expect(confirm).to_have_count(0)
    expect(row_action).to_be_focused()

    page.get_by_role("checkbox", name="Select spared").check()
    page.get_by_role("button", name="Delete 1 API key").click()
    expect(confirm).to_be_visible()
    page.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    expect(page.get_by_role("button", name="Delete 1 API key")).to_be_focused()
    assert not invalidated_names()


def test_select_all_matching_deletes_every_key_matching_the_search_across_pages(page: Page, live_server, alice):
    make_keys(alice, *(f"batch-{i:02d}" for i in range(60)))
    make_keys(alice, "other-1", "other-2", "other-3", minutes_ago=120)
    open_signed_in(page, live_server, alice)
    page.get_by_role("searchbox", name="Search API keys").fill("batch")
    expect(page.get_by_text("Showing 1–25 of 60 API keys")).to_be_visible()
    expect(page.get_by_text("Page 1 of 3")).to_be_visible()

    page.get_by_role("checkbox", name="Select all matching").check()
    page.get_by_role("button", name="Delete 60 API keys").click()
    confirm = page.get_by_role("dialog", name="Delete 60 API keys?")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("listitem")).to_have_count(51)
    expect(confirm.get_by_role("listitem").last).to_have_text("and 10 more")
    confirm.get_by_role("button", name="Delete", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text("Deleted 60 API keys")
    expect(page).to_have_url(re.compile(r"q=batch"))
    expect(page.get_by_role("heading", name="No API keys match your search")).to_be_visible()
    assert ApiKey.objects.filter(name__startswith="batch-", invalidated=True).count() == 60
    assert not ApiKey.objects.filter(name__startswith="other-", invalidated=True).exists()


def test_delete_all_expired_confirms_with_the_count_and_spares_the_rest(page: Page, live_server, admin, alice, bob):
    make_keys(alice, "old-1", "old-2", **expired())
    make_keys(alice, "live")
    make_keys(bob, "old-3", **expired())
    make_key(bob, "gone-and-old", **invalidated(**expired()))
    open_signed_in(page, live_server, admin)
    page.get_by_role("link", name="Delete all expired").click()
    confirm = page.get_by_role("dialog", name="Delete all expired API keys?")
    expect(confirm).to_contain_text("3 expired API keys will stop working at once.")
    expect(confirm.get_by_role("listitem")).to_have_text(["old-1", "old-2", "old-3"])
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Deleted 3 API keys")
    expect_names(page, ["live"])
    assert invalidated_names() == {"old-1", "old-2", "old-3", "gone-and-old"}
    assert ApiKey.objects.filter(name="gone-and-old").values_list("invalidation", flat=True).get() is not None


def test_a_managed_key_in_the_selection_brings_a_warning(page: Page, live_server, admin, alice, screenshot):
    create_managed_api_key("fleet-server")
    make_keys(alice, "personal", minutes_ago=5)
    open_signed_in(page, live_server, admin)
    page.get_by_role("checkbox", name="Select fleet-server").check()
    page.get_by_role("checkbox", name="Select personal").check()
    page.get_by_role("button", name="Delete 2 API keys").click()
    confirm = page.get_by_role("dialog", name="Delete 2 API keys?")
    expect(confirm.get_by_role("alert")).to_have_text(
        "Deleting managed API keys may disrupt features that depend on them."
    )
    screenshot("confirm-dialog-managed")
    confirm.get_by_role("link", name="Cancel").click()
    expect(confirm).to_have_count(0)
    assert not invalidated_names()

    page.get_by_role("link", name="Delete personal").click()
    confirm = page.get_by_role("dialog", name="Delete API key 'personal'?")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("alert")).to_have_count(0)
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Deleted API key 'personal'")
    assert invalidated_names() == {"personal"}
