"""The audit log page, as an administrator uses it in the browser."""

import re

from playwright.sync_api import Page, expect

from apikeys.models import AuditEvent
from tests.conftest import PASSWORD, basic
from tests.e2e.support import open_signed_in, serious_accessibility_violations


def test_an_admin_reads_and_filters_the_audit_log(page: Page, live_server, admin, alice, screenshot):
    # Events of several kinds, made through the JSON API from the browser's own request context.
    api = page.request
    created = api.post(
        live_server.url + "/_security/api_key", data={"name": "audited-key"}, headers={"Authorization": basic(alice)}
    ).json()
    api.delete(
        live_server.url + "/_security/api_key",
        data={"ids": [created["id"]], "owner": True},
        headers={"Authorization": basic(alice)},
    )
    api.get(live_server.url + "/_security/_authenticate", headers={"Authorization": basic(alice, "wrong " + PASSWORD)})
    api.put(
        live_server.url + "/_security/role/auditors",
        data={"cluster": ["monitor"]},
        headers={"Authorization": basic(admin)},
    )
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {
        "create",
        "invalidate",
        "auth_failure",
        "role_change",
    }

    open_signed_in(page, live_server, admin)
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    table = page.locator("table.audit tbody tr")
    expect(table).to_have_count(4)
    expect(page.get_by_role("cell", name="audited-key").first).to_be_visible()
    screenshot("audit-log")
    assert serious_accessibility_violations(page) == []

    page.get_by_label("Event", exact=True).select_option(label="Invalidated API key")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"action=invalidate"))
    expect(table).to_have_count(1)
    expect(table.first).to_contain_text("alice")
    expect(table.first).to_contain_text(created["id"])

    page.get_by_label("User").fill("nobody")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="No events match")).to_be_visible()


def test_the_audit_log_is_not_offered_to_other_users(page: Page, live_server, alice):
    open_signed_in(page, live_server, alice)
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    assert page.request.get(live_server.url + "/audit/").status == 403


def test_an_admin_exports_the_filtered_events_as_csv(page: Page, live_server, admin, alice):
    for name in ("kept", "other"):
        page.request.post(
            live_server.url + "/_security/api_key", data={"name": name}, headers={"Authorization": basic(alice)}
        )
    page.request.put(
        live_server.url + "/_security/role/auditors",
        data={"cluster": ["monitor"]},
        headers={"Authorization": basic(admin)},
    )
    open_signed_in(page, live_server, admin)
    page.goto(live_server.url + "/audit/")
    page.get_by_label("Event", exact=True).select_option(label="Created API key")
    page.get_by_role("button", name="Filter").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    rows = download.value.path().read_text().splitlines()
    assert rows[0] == "id,timestamp,action,actor,key_id,target,client_address,count,details"
    assert [row.split(",")[2] for row in rows[1:]] == ["create", "create"]
    assert [row.split(",")[5] for row in rows[1:]] == ["kept", "other"]
