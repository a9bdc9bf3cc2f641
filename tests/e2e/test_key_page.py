"""The key page: the owner updates role descriptors and metadata; everyone else reads, with the reason."""

import json

import pytest
from playwright.sync_api import Page, expect

from apikeys.models import ApiKey, User
from apikeys.services import create_managed_api_key
from tests.conftest import new_key
from tests.e2e.support import BOOKS_READER, expired, invalidated, make_key, open_signed_in

WRITER = {"writer": {"cluster": [], "indices": [{"names": ["logs-*"], "privileges": ["read", "write"]}]}}


def test_the_owner_updates_role_descriptors_and_metadata(page: Page, live_server, alice, screenshot):
    key = new_key(alice, "deploy", role_descriptors=BOOKS_READER, metadata={"v": 1}).key
    open_signed_in(page, live_server, alice)
    page.get_by_role("link", name="deploy", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/api-keys/{key.id}/")
    expect(page.get_by_role("heading", name="Update API key")).to_be_visible()
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_count(0)
    descriptors = page.get_by_label("Role descriptors")
    assert json.loads(descriptors.input_value())["reader"]["indices"][0]["names"] == ["books"]
    screenshot("key-page-editable")

    descriptors.fill(json.dumps(WRITER))
    page.get_by_label("Metadata", exact=True).fill('{"v": 2, "team": "ops"}')
    expect(page.locator("#metadata-status")).to_have_text("Valid JSON")
    page.get_by_role("button", name="Update API key").click()

    expect(page.get_by_role("status")).to_contain_text(f"Updated API key '{key.name}'")
    key.refresh_from_db()
    assert key.metadata == {"v": 2, "team": "ops"}
    assert list(key.role_descriptors) == ["writer"]
    assert key.role_descriptors["writer"]["indices"][0]["privileges"] == ["read", "write"]
    assert key.name == "deploy"
    assert json.loads(page.get_by_label("Metadata", exact=True).input_value()) == {"v": 2, "team": "ops"}


def test_the_key_page_refuses_invalid_json_and_keeps_the_key(page: Page, live_server, alice, browser_errors):
    key = new_key(alice, "deploy", metadata={"v": 1}).key
    open_signed_in(page, live_server, alice, f"/api-keys/{key.id}/")
    page.get_by_label("Metadata", exact=True).fill('{\n  "v": 2,\n}')
    expect(page.locator("#metadata-status")).to_contain_text("Enter valid JSON.")
    page.get_by_role("button", name="Update API key").click()
    expect(page.get_by_role("alert")).to_contain_text("Line 3.")
    expect(page.get_by_label("Metadata", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Metadata", exact=True)).to_be_focused()
    # The refused form answers 400, which Chromium reports on its console; nothing else may.
    assert all("status of 400" in error for error in browser_errors)
    browser_errors.clear()
    key.refresh_from_db()
    assert key.metadata == {"v": 1}


def read_only_page(page: Page, live_server, user: User, key: ApiKey, reason: str) -> None:
    open_signed_in(page, live_server, user, f"/api-keys/{key.id}/")
    expect(page.get_by_role("heading", name="API key details")).to_be_visible()
    expect(page.get_by_role("note")).to_have_text(reason)
    expect(page.get_by_role("button", name="Update API key")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Role descriptors")).to_have_count(0)
    expect(page.get_by_label("Metadata", exact=True)).to_be_visible()


def test_an_admin_reads_another_users_key_but_cannot_update_it(page: Page, live_server, admin, alice, screenshot):
    key = new_key(alice, "alices-key", role_descriptors=BOOKS_READER, metadata={"v": 1}).key
    read_only_page(page, live_server, admin, key, "You can't update this API key. It belongs to another user.")
    expect(page.locator("dl.overview")).to_contain_text("alice")
    screenshot("key-page-read-only")
    response = page.request.post(
        f"{live_server.url}/api-keys/{key.id}/", form={"role_descriptors": "{}", "metadata": "{}"}, max_redirects=0
    )
    assert response.status == 403
    key.refresh_from_db()
    assert key.metadata == {"v": 1} and list(key.role_descriptors) == ["reader"]


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (expired(), "This API key has expired. You can no longer update it."),
        (invalidated(), "This API key has been deleted. You can no longer update it."),
    ],
    ids=["expired", "invalidated"],
)
def test_an_expired_or_deleted_key_is_read_only_for_its_owner(page: Page, live_server, alice, state, reason):
    key = make_key(alice, "old-key", metadata={"v": 1}, **state)
    read_only_page(page, live_server, alice, key, reason)
    key.refresh_from_db()
    assert key.metadata == {"v": 1}


def test_a_managed_key_is_read_only(page: Page, live_server, admin, screenshot):
    key = create_managed_api_key("fleet-server").key
    read_only_page(page, live_server, admin, key, "This API key is managed by the system. You can't update it.")
    expect(page.locator("dl.overview")).to_contain_text("Managed")
    screenshot("key-page-managed")
    assert ApiKey.objects.get(pk=key.id).metadata == {"managed": True}


def test_effective_privileges_and_the_privilege_check(page: Page, live_server, alice, screenshot):
    descriptors = {
        "r": {"cluster": ["manage_own_api_key", "monitor"], "indices": [{"names": ["books"], "privileges": ["read"]}]}
    }
    key = new_key(alice, "checked", role_descriptors=descriptors).key
    open_signed_in(page, live_server, alice, f"/api-keys/{key.id}/")
    panel = page.get_by_role("region", name="Effective privileges")
    # monitor is in the key's descriptors but not in alice's roles: the key can't use it.
    expect(panel.locator("p .badge")).to_have_text(["manage_own_api_key"])
    expect(panel.locator(".effective-indices li")).to_have_text(["books: read"])

    check = panel.get_by_role("form", name="Check privileges")
    check.get_by_label("Cluster privilege").fill("monitor")
    check.get_by_role("button", name="Check").click()
    expect(panel.locator("#check-result")).to_have_text("Cluster privilege monitor: denied")
    check.get_by_label("Cluster privilege").fill("manage_own_api_key")
    check.get_by_role("button", name="Check").click()
    expect(panel.locator("#check-result")).to_have_text("Cluster privilege manage_own_api_key: allowed")

    check.get_by_label("Cluster privilege").fill("")
    check.get_by_label("Index name").fill("books")
    check.get_by_label("Index privilege").fill("read")
    check.get_by_role("button", name="Check").click()
    expect(panel.locator("#check-result")).to_have_text("read on index books: allowed")
    check.get_by_label("Index name").fill("logs-2025")
    check.get_by_role("button", name="Check").click()
    expect(panel.locator("#check-result")).to_have_text("read on index logs-2025: denied")
    check.get_by_label("Index privilege").fill("")
    check.get_by_role("button", name="Check").click()
    expect(panel.get_by_role("alert")).to_have_text(
        "Enter a cluster privilege, or an index name and an index privilege."
    )
    screenshot("key-page-check-privileges")
    assert ApiKey.objects.get(pk=key.id).role_descriptors["r"]["cluster"] == ["manage_own_api_key", "monitor"]
