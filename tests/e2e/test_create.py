"""Creating an API key in the flyout: switches, live JSON validation, the one-time key, keyboard use."""

import json
import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from apikeys.domain import keys
from apikeys.models import ApiKey
from tests.e2e.support import dialog, make_key, open_signed_in
from tests.e2e.test_sign_in import sign_in


def open_flyout(page: Page) -> None:
    page.get_by_role("link", name="Create API key").first.click()
    expect(dialog(page)).to_be_visible()


def test_a_restricted_expiring_key_with_metadata_is_created_copied_and_works(
    page: Page, live_server, alice, screenshot
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, live_server.url, "alice")
    expect(page.get_by_role("heading", name="Create your first API key")).to_be_visible()
    open_flyout(page)
    flyout = page.get_by_role("dialog", name="Create API key")
    expect(flyout.get_by_text("Personal")).to_be_visible()
    expect(flyout.get_by_label("Role descriptors")).to_be_hidden()
    screenshot("flyout")

    flyout.get_by_label("Name", exact=True).fill("ci-reader")
    flyout.get_by_role("switch", name="Restrict privileges").check()
    descriptors = flyout.get_by_label("Role descriptors")
    expect(descriptors).to_be_visible()
    assert json.loads(descriptors.input_value())["books-read-only"]["indices"] == [
        {"names": ["books"], "privileges": ["read"]}
    ]
    flyout.get_by_role("switch", name="Expire after time").check()
    amount = flyout.get_by_label("Expire after", exact=True)
    expect(amount).to_have_attribute("type", "number")
    amount.fill("7")
    flyout.get_by_label("Unit").select_option("days")
    expect(flyout.get_by_text("This API key will expire on")).to_be_visible()
    flyout.get_by_role("switch", name="Include metadata").check()
    metadata_panel = flyout.locator("#metadata-panel")
    expect(metadata_panel.get_by_role("button", name="Format")).to_be_visible()
    expect(metadata_panel.get_by_role("button", name="Read-only")).to_have_count(0)
    flyout.get_by_label("Metadata", exact=True).fill('{"team": "search", "env": "ci"}')
    expect(flyout.get_by_text("Valid JSON")).to_have_count(1)
    screenshot("flyout-filled")
    flyout.get_by_role("button", name="Create API key").click()

    expect(flyout.get_by_role("heading", name="Created API key 'ci-reader'")).to_be_visible()
    expect(flyout.get_by_text("Copy this key now. You will not be able to view it again.")).to_be_visible()
    screenshot("created-callout")
    key = ApiKey.objects.get()
    assert key.name == "ci-reader" and key.owner == alice and not key.invalidated
    assert key.role_descriptors["books-read-only"]["indices"][0]["names"] == ["books"]
    assert key.role_descriptors["books-read-only"]["indices"][0]["privileges"] == ["read"]
    assert key.metadata == {"team": "search", "env": "ci"}
    assert abs(key.expiration - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)

    field = flyout.get_by_label("API key", exact=True)
    expect(field).to_be_focused()
    expect(field).to_have_attribute("readonly", "")
    encoded = field.input_value()
    key_id, secret = keys.decode(encoded)
    assert key_id == key.id
    flyout.get_by_role("button", name="Copy").click()
    expect(flyout.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == encoded
    response = page.request.get(
        live_server.url + "/_security/_authenticate", headers={"Authorization": "ApiKey " + encoded}
    )
    assert response.status == 200
    assert response.json()["api_key"] == {"id": key.id, "name": "ci-reader", "managed_by": "elasticsearch"}
    expect(flyout.get_by_label("Try it")).to_have_value(
        f'curl "{live_server.url}/_security/_authenticate" -H "Authorization: ApiKey {encoded}"'
    )

    flyout.get_by_label("Beats").check()
    expect(field).to_have_value(f"{key.id}:{secret}")
    flyout.get_by_label("JSON").check()
    created = json.loads(field.input_value())
    assert created["id"] == key.id and created["api_key"] == secret and created["encoded"] == encoded
    assert created["name"] == "ci-reader" and "expiration" in created
    flyout.get_by_label("Encoded").check()
    expect(field).to_have_value(encoded)

    flyout.get_by_role("link", name="Done").click()
    expect(dialog(page)).to_have_count(0)
    expect(page.get_by_role("link", name="Create API key").first).to_be_focused()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="ci-reader"))
    expect(row).to_contain_text("Just now")
    expect(row).to_contain_text("Expires in 7 days")


def test_json_errors_show_as_you_type_and_on_submit_and_nothing_is_created(page: Page, live_server, alice, screenshot):
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_signed_in(page, live_server, alice)
    open_flyout(page)
    flyout = page.get_by_role("dialog", name="Create API key")
    flyout.get_by_label("Name", exact=True).fill("broken")
    flyout.get_by_role("switch", name="Restrict privileges").check()
    descriptors = flyout.get_by_label("Role descriptors")
    descriptors.fill("")
    descriptors.press_sequentially('{\n"r": {\n"cluster": [,\n')
    expect(flyout.get_by_role("alert")).to_contain_text("Enter valid JSON.")
    expect(flyout.get_by_role("alert")).to_contain_text("Line 3.")

    descriptors.fill('{\n  "r": {\n    "cluster": ["fly"]\n  }\n}')
    status = flyout.locator("#role_descriptors-status")
    expect(status).to_contain_text("unknown cluster privilege [fly]")
    expect(status).to_contain_text("r.cluster[0]")
    expect(status).to_contain_text("Line 3.")
    flyout.get_by_role("switch", name="Include metadata").check()
    flyout.get_by_label("Metadata", exact=True).fill('{\n  "ok": 1,\n  "_private": true\n}')
    expect(flyout.locator("#metadata-status")).to_contain_text("_private")
    expect(flyout.locator("#metadata-status")).to_contain_text("Line 3.")
    screenshot("json-errors")

    flyout.get_by_role("button", name="Create API key").click()
    expect(flyout.locator("#role_descriptors-status")).to_contain_text("r.cluster[0]")
    expect(flyout.get_by_label("Role descriptors")).to_have_attribute("aria-invalid", "true")
    expect(flyout.get_by_label("Role descriptors")).to_be_focused()
    expect(flyout.get_by_label("Metadata", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(flyout.get_by_label("Name", exact=True)).to_have_value("broken")
    screenshot("json-errors-submitted")
    assert not ApiKey.objects.exists()

    flyout.get_by_label("Name", exact=True).fill("")
    flyout.get_by_role("button", name="Create API key").click()
    expect(flyout.get_by_text("Enter a name.")).to_be_visible()
    expect(flyout.get_by_label("Name", exact=True)).to_be_focused()
    assert not ApiKey.objects.exists()


def test_escape_closes_the_flyout_and_focus_goes_in_and_back(page: Page, live_server, alice):
    make_key(alice, "existing")
    open_signed_in(page, live_server, alice)
    create = page.get_by_role("link", name="Create API key")
    create.focus()
    page.keyboard.press("Enter")
    flyout = page.get_by_role("dialog", name="Create API key")
    expect(flyout).to_be_visible()
    expect(flyout.get_by_label("Name", exact=True)).to_be_focused()
    flyout.get_by_label("Name", exact=True).fill("abandoned")
    page.keyboard.press("Escape")
    expect(dialog(page)).to_have_count(0)
    expect(create).to_be_focused()

    create.click()
    expect(flyout.get_by_label("Name", exact=True)).to_be_focused()
    flyout.get_by_role("button", name="Cancel").click()
    expect(dialog(page)).to_have_count(0)
    expect(create).to_be_focused()
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["existing"]


def test_tab_in_the_role_descriptors_editor_indents_and_shift_tab_leaves(page: Page, live_server, alice):
    open_signed_in(page, live_server, alice)
    open_flyout(page)
    flyout = page.get_by_role("dialog", name="Create API key")
    flyout.get_by_role("switch", name="Restrict privileges").check()
    editor = flyout.get_by_label("Role descriptors")
    before = editor.input_value()
    editor.focus()
    editor.evaluate("textarea => textarea.setSelectionRange(0, 0)")
    page.keyboard.press("Tab")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("  " + before)
    page.keyboard.press("Shift+Tab")
    expect(editor).not_to_be_focused()


def test_boilerplates_replace_and_format_pretty_prints_the_descriptors(page: Page, live_server, alice):
    open_signed_in(page, live_server, alice)
    open_flyout(page)
    flyout = page.get_by_role("dialog", name="Create API key")
    flyout.get_by_label("Name", exact=True).fill("writer")
    flyout.get_by_role("switch", name="Restrict privileges").check()
    flyout.get_by_role("button", name="Write-only").click()
    editor = flyout.get_by_label("Role descriptors")
    assert "write-only" in json.loads(editor.input_value())
    editor.fill('{"compact": {"cluster": ["monitor"]}}')
    flyout.get_by_role("button", name="Format").first.click()
    expect(editor).to_have_value('{\n  "compact": {\n    "cluster": [\n      "monitor"\n    ]\n  }\n}')
    expect(flyout.locator("#role_descriptors-status")).to_have_text("Valid JSON")
    flyout.get_by_role("button", name="Create API key").click()
    expect(flyout.get_by_role("heading", name="Created API key 'writer'")).to_be_visible()
    assert ApiKey.objects.get().role_descriptors["compact"]["cluster"] == ["monitor"]
    assert re.fullmatch(r"[\w-]{20}", ApiKey.objects.get().id)
