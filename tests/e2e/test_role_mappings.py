"""The role mappings page in a real browser: rules checked as they are typed, delete after a confirmation."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from apikeys.models import RoleMapping
from tests.conftest import make_role, make_user
from tests.e2e.support import open_signed_in


def test_a_mapping_is_created_with_live_checked_rules_and_deleted_after_a_confirmation(
    page: Page, live_server, db, screenshot
):
    admin = make_user("secadmin", make_role("security_admin", {"cluster": ["manage_security"]}))
    open_signed_in(page, live_server, admin, "/")
    page.get_by_role("link", name="Role mappings").click()
    page.get_by_role("link", name="Create role mapping").click()
    page.get_by_label("Name").fill("staff")
    page.get_by_label("Roles").fill("own_keys")
    rules = page.get_by_label("Rules")
    rules.fill('{"any": {"field": {"groups": "staff"}}}')
    expect(page.get_by_role("alert")).to_contain_text("field [any] requires an array")
    rules.fill('{"any": [{"field": {"groups": "staff"}}]}')
    expect(page.get_by_text("Valid JSON")).to_be_visible()
    screenshot("role-mapping-edit")
    page.get_by_role("button", name="Save role mapping").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="staff", exact=True))
    expect(row).to_contain_text("groups = staff")
    screenshot("role-mappings")
    row.get_by_role("link", name="Delete staff").click()
    dialog = page.get_by_role("dialog", name="Delete role mapping 'staff'?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No role mappings yet")).to_be_visible()
    assert not RoleMapping.objects.exists()
