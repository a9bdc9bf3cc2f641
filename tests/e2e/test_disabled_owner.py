"""Disabling a user in the browser's view: an administrator disables Alice through the API, her key's row in the
list and her key's page say "Owner disabled", and the key stops working at once; enabling her brings it back."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.conftest import basic, new_key
from tests.e2e.support import open_signed_in, rows, serious_accessibility_violations


def status_with_key(page: Page, live_server, encoded: str) -> int:
    response = page.request.get(
        live_server.url + "/_security/_authenticate", headers={"Authorization": f"ApiKey {encoded}"}
    )
    return response.status


def set_enabled(page: Page, live_server, admin, username: str, verb: str) -> None:
    response = page.request.put(
        f"{live_server.url}/_security/user/{username}/{verb}", headers={"Authorization": basic(admin)}
    )
    assert response.status == 200 and response.json() == {}


def test_disabling_an_owner_marks_its_keys_and_stops_them_at_once(
    page: Page, live_server, admin, alice, bob, screenshot
):
    nightly = new_key(alice, "alice-nightly")
    new_key(bob, "bob-reports")
    open_signed_in(page, live_server, admin, "/api-keys/")
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_text("Owner disabled")).to_have_count(0)
    assert status_with_key(page, live_server, nightly.encoded) == 200

    set_enabled(page, live_server, admin, "alice", "_disable")
    assert status_with_key(page, live_server, nightly.encoded) == 401

    page.reload()
    alices_row = rows(page).filter(has=page.get_by_role("link", name="alice-nightly"))
    expect(alices_row.locator("td[data-label=Status]")).to_contain_text("Owner disabled")
    bobs_row = rows(page).filter(has=page.get_by_role("link", name="bob-reports"))
    expect(bobs_row.locator("td[data-label=Status]")).not_to_contain_text("Owner disabled")
    screenshot("owner-disabled-list")
    assert serious_accessibility_violations(page) == []

    alices_row.get_by_role("link", name="alice-nightly", exact=True).click()
    expect(page.get_by_role("heading", name="API key details")).to_be_visible()
    status = page.locator(".overview > div").filter(has=page.locator("dt", has_text="Status")).locator("dd")
    expect(status).to_contain_text("Owner disabled")
    expect(page.get_by_role("note").filter(has_text="Its owner, alice, is disabled")).to_be_visible()
    screenshot("owner-disabled-key-page")
    assert serious_accessibility_violations(page) == []

    set_enabled(page, live_server, admin, "alice", "_enable")
    assert status_with_key(page, live_server, nightly.encoded) == 200
    page.reload()
    expect(page.get_by_text("Owner disabled")).to_have_count(0)
