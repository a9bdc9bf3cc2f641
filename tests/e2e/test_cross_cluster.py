"""Cross-cluster API keys in the browser: created in the flyout with an Access editor (only by holders of
manage_security), found with the Type filter, updated on their page, and warned about when deleted."""

import json
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from apikeys.access.principals import Principal
from apikeys.models import ApiKey, KeyType, User
from apikeys.services import create_cross_cluster_api_key
from tests.conftest import new_key
from tests.e2e.support import (
    dialog,
    expect_names,
    open_signed_in,
    overview_value,
    serious_accessibility_violations,
    signed_in_without_javascript,
)

DEFAULT_ACCESS = {"search": [{"names": ["*"]}], "replication": [{"names": ["*"]}]}


def cross_cluster_key(owner: User, name: str, access: dict | None = None) -> ApiKey:
    body = {"name": name, "access": access or {"search": [{"names": ["logs-*"]}]}}
    return create_cross_cluster_api_key(Principal.for_user(owner), body).key


def check_accessibility(page: Page, screenshot, name: str) -> None:
    found = {}
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(f"cross-cluster-{name}-{width}")
        found[width] = serious_accessibility_violations(page)
    assert found == {1280: [], 375: []}


def test_an_admin_creates_a_cross_cluster_key_with_access(page: Page, live_server, admin, screenshot):
    open_signed_in(page, live_server, admin)
    page.get_by_role("link", name="Create API key").first.click()
    flyout = page.get_by_role("dialog", name="Create API key")
    expect(flyout.get_by_role("radio", name="User API key")).to_be_checked()
    expect(flyout.get_by_label("Access", exact=True)).to_be_hidden()
    flyout.get_by_role("radio", name="Cross-cluster API key").check()

    access = flyout.get_by_label("Access", exact=True)
    expect(access).to_be_visible()
    expect(flyout.get_by_role("switch", name="Restrict privileges")).to_be_hidden()
    assert json.loads(access.input_value()) == DEFAULT_ACCESS
    flyout.get_by_label("Name", exact=True).fill("remote-logs")
    access.fill('{"replication": [{"names": ["logs-*"], "query": {"match_all": {}}}]}')
    expect(flyout.locator("#access-status")).to_contain_text("replication does not support document or field")
    check_accessibility(page, screenshot, "flyout")
    page.set_viewport_size({"width": 1280, "height": 900})
    access.fill('{"search": [{"names": ["logs-*"], "query": {"term": {"team": "ops"}}}]}')
    expect(flyout.locator("#access-status")).to_have_text("Valid JSON")
    flyout.get_by_role("button", name="Create API key").click()

    expect(flyout.get_by_role("heading", name="Created API key 'remote-logs'")).to_be_visible()
    expect(flyout.get_by_text("cannot call this API")).to_be_visible()
    expect(flyout.get_by_label("Try it")).to_have_count(0)
    expect(flyout.get_by_role("radio", name="Beats")).to_have_count(0)
    key = ApiKey.objects.get()
    assert key.type == KeyType.CROSS_CLUSTER and key.limited_by == {}
    assert key.access == {
        "search": [{"names": ["logs-*"], "query": '{"term":{"team":"ops"}}', "allow_restricted_indices": False}]
    }
    flyout.get_by_role("link", name="Done").click()
    expect(dialog(page)).to_have_count(0)
    row = page.locator("table.keys tbody tr", has_text="remote-logs")
    expect(row.get_by_text("Cross-cluster", exact=True)).to_be_visible()


def test_a_cross_cluster_key_created_with_a_certificate_identity_shows_it_on_its_page(
    page: Page, live_server, admin, screenshot
):
    identity = "CN=remote-.*,OU=engineering,DC=example,DC=com"
    open_signed_in(page, live_server, admin)
    page.get_by_role("link", name="Create API key").first.click()
    flyout = page.get_by_role("dialog", name="Create API key")
    expect(flyout.get_by_label("Certificate identity")).to_be_hidden()
    flyout.get_by_role("radio", name="Cross-cluster API key").check()
    flyout.get_by_label("Name", exact=True).fill("strong-remote")
    field = flyout.get_by_label("Certificate identity")
    expect(field).to_be_visible()
    field.fill("CN=(")
    flyout.get_by_role("button", name="Create API key").click()
    expect(flyout.locator("#certificate-identity-error")).to_have_text(
        "Invalid certificate_identity format: [CN=(]. Must be a valid regex."
    )
    expect(flyout.get_by_label("Certificate identity")).to_have_attribute("aria-invalid", "true")
    check_accessibility(page, screenshot, "certificate-identity-refused")
    assert not ApiKey.objects.exists()
    page.set_viewport_size({"width": 1280, "height": 900})

    flyout.get_by_label("Certificate identity").fill(identity)
    flyout.get_by_role("button", name="Create API key").click()
    expect(flyout.get_by_role("heading", name="Created API key 'strong-remote'")).to_be_visible()
    key = ApiKey.objects.get()
    assert key.certificate_identity == identity

    page.goto(f"{live_server.url}/api-keys/{key.id}/")
    expect(overview_value(page, "Certificate identity")).to_have_text(identity)
    expect(page.get_by_role("link", name="Clone key")).to_have_count(0)  # cross-cluster keys are not cloned
    check_accessibility(page, screenshot, "certificate-identity-key-page")


def test_a_bad_access_is_refused_and_nothing_is_created(page: Page, live_server, admin):
    open_signed_in(page, live_server, admin)
    page.get_by_role("link", name="Create API key").first.click()
    flyout = page.get_by_role("dialog", name="Create API key")
    flyout.get_by_role("radio", name="Cross-cluster API key").check()
    flyout.get_by_label("Name", exact=True).fill("nothing")
    flyout.get_by_label("Access", exact=True).fill("{}")
    flyout.get_by_role("button", name="Create API key").click()
    expect(flyout.get_by_role("alert").first).to_contain_text(
        "must specify non-empty access for either [search] or [replication]"
    )
    assert not ApiKey.objects.exists()


def test_without_manage_security_there_is_no_type_choice(page: Page, live_server, alice):
    open_signed_in(page, live_server, alice)
    page.get_by_role("link", name="Create API key").first.click()
    flyout = page.get_by_role("dialog", name="Create API key")
    expect(flyout.get_by_text("Personal")).to_be_visible()
    expect(flyout.get_by_role("radio", name="Cross-cluster API key")).to_have_count(0)
    expect(flyout.get_by_label("Access", exact=True)).to_have_count(0)


def test_the_type_filter_finds_cross_cluster_keys(page: Page, live_server, admin, screenshot):
    new_key(admin, "personal-one")
    cross_cluster_key(admin, "remote-a")
    cross_cluster_key(admin, "remote-b")
    open_signed_in(page, live_server, admin)
    type_filter = page.get_by_label("Type")
    expect(type_filter.get_by_role("option", name="Cross-cluster (2)")).to_be_attached()
    type_filter.select_option(label="Cross-cluster (2)")
    expect(page).to_have_url(re.compile(r"type=cross_cluster"))
    expect_names(page, ["remote-b", "remote-a"])
    expect(page.locator("table.keys tbody").get_by_text("Cross-cluster", exact=True)).to_have_count(2)
    check_accessibility(page, screenshot, "list")


def test_the_key_page_updates_access_and_metadata(page: Page, live_server, admin, screenshot):
    key = cross_cluster_key(admin, "remote-logs")
    open_signed_in(page, live_server, admin, f"/api-keys/{key.id}/")
    expect(page.get_by_role("heading", name="Update API key")).to_be_visible()
    expect(page.get_by_label("Role descriptors")).to_have_count(0)
    access = page.get_by_label("Access", exact=True)
    assert json.loads(access.input_value())["search"][0]["names"] == ["logs-*"]
    check_accessibility(page, screenshot, "key-page")
    page.set_viewport_size({"width": 1280, "height": 900})

    access.fill('{"replication": [{"names": ["archive"]}]}')
    page.get_by_label("Metadata", exact=True).fill('{"tier": "cold"}')
    expect(page.locator("#access-status")).to_have_text("Valid JSON")
    page.get_by_role("button", name="Update API key").click()

    expect(page.get_by_role("status")).to_contain_text("Updated API key 'remote-logs'")
    key.refresh_from_db()
    assert key.access == {"replication": [{"names": ["archive"], "allow_restricted_indices": False}]}
    assert key.role_descriptors["cross_cluster"]["cluster"] == ["cross_cluster_replication"]
    assert key.metadata == {"tier": "cold"}
    expect(page.get_by_text("cross_cluster_replication", exact=True).first).to_be_visible()


def test_a_manager_without_manage_security_reads_the_key_page(page: Page, live_server, admin, manager):
    key = cross_cluster_key(admin, "remote-logs")
    open_signed_in(page, live_server, manager, f"/api-keys/{key.id}/")
    expect(page.get_by_role("heading", name="API key details")).to_be_visible()
    expect(page.get_by_role("note")).to_have_text(
        "You need the manage_security privilege to update cross-cluster API keys."
    )
    expect(page.locator("pre[aria-label=Access]")).to_contain_text("logs-*")


def test_deleting_warns_when_cross_cluster_keys_are_included(page: Page, live_server, admin):
    new_key(admin, "personal-one")
    cross_cluster_key(admin, "remote-logs")
    open_signed_in(page, live_server, admin)
    page.get_by_role("checkbox", name="Select personal-one").check()
    page.get_by_role("checkbox", name="Select remote-logs").check()
    page.get_by_role("button", name="Delete 2 API keys").click()
    confirm = page.get_by_role("dialog", name="Delete 2 API keys?")
    expect(confirm.get_by_text("remote clusters that connect with them will lose access")).to_be_visible()
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Deleted 2 API keys")
    assert ApiKey.objects.filter(invalidated=True).count() == 2


@pytest.fixture
def nojs_admin(browser: Browser, live_server, admin):
    with signed_in_without_javascript(browser, live_server, "admin", width=375) as page:
        yield page


def test_without_javascript_a_cross_cluster_key_is_created_on_a_phone(nojs_admin: Page):
    page = nojs_admin
    page.get_by_role("link", name="Create API key").first.click()
    expect(page).to_have_url(re.compile(r"/api-keys/create/$"))
    page.get_by_label("Name", exact=True).fill("remote-no-js")
    page.get_by_role("radio", name="Cross-cluster API key").check()
    page.get_by_label("Access", exact=True).fill('{"search": [{"names": ["metrics-*"]}]}')
    page.get_by_role("button", name="Create API key").click()
    expect(page.get_by_text("Created API key 'remote-no-js'")).to_be_visible()
    key = ApiKey.objects.get()
    assert key.type == KeyType.CROSS_CLUSTER and key.access["search"][0]["names"] == ["metrics-*"]


def test_a_manager_without_manage_security_is_offered_no_delete_of_a_cross_cluster_key(
    page: Page, live_server, admin, manager, screenshot
):
    new_key(admin, "personal-one")
    remote = cross_cluster_key(admin, "remote-logs")
    open_signed_in(page, live_server, manager)
    personal_row = page.locator("table.keys tbody tr", has_text="personal-one")
    remote_row = page.locator("table.keys tbody tr", has_text="remote-logs")
    expect(personal_row.get_by_role("link", name="Delete personal-one")).to_be_visible()
    expect(personal_row.get_by_role("checkbox", name="Select personal-one")).to_be_visible()
    expect(remote_row.get_by_role("link", name="Delete remote-logs")).to_have_count(0)
    expect(remote_row.get_by_role("checkbox")).to_have_count(0)
    expect(page.get_by_text("Showing 1–2 of 2 API keys")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Select all matching (1)")).to_be_visible()  # what may go
    screenshot("list-manager-cross-cluster")
    page.set_viewport_size({"width": 375, "height": 900})  # rows become cards: no empty "Actions" line on this one
    expect(remote_row.locator("td.actions")).to_be_hidden()
    expect(personal_row.locator("td.actions")).to_be_visible()
    screenshot("list-manager-cross-cluster-375")
    page.set_viewport_size({"width": 1280, "height": 900})

    # A delete posted anyway (a stale page, a hand-made request) is refused with its reason, and nothing changes.
    token = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    answer = page.request.post(
        f"{live_server.url}/api-keys/delete/", form={"id": remote.id}, headers={"X-CSRFToken": token}, max_redirects=0
    )
    assert answer.status == 302
    page.goto(live_server.url + "/")
    messages = page.get_by_role("status")
    expect(messages.locator(".callout.danger")).to_have_text(
        "Could not delete 'remote-logs': deleting a cross-cluster API key needs the manage_security privilege."
    )
    expect(messages).not_to_contain_text("Deleted")
    screenshot("list-manager-cross-cluster-refused")
    assert not ApiKey.objects.get(pk=remote.id).invalidated
