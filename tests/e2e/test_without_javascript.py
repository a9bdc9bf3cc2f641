"""With JavaScript off, the console still works as plain links and forms."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from apikeys.models import ApiKey
from tests.conftest import make_keys
from tests.e2e.support import signed_in_without_javascript


@pytest.fixture
def nojs_page(browser: Browser, live_server, alice):
    with signed_in_without_javascript(browser, live_server, "alice", width=1280) as page:
        yield page


def test_list_sort_and_pagination_work_as_links(nojs_page: Page, alice):
    make_keys(alice, 30, prefix="plain", id_prefix="n")
    page = nojs_page
    page.reload()
    expect(page.get_by_role("link", name="plain-0000", exact=True)).to_be_visible()
    page.get_by_role("link", name="Name").click()
    expect(page).to_have_url(re.compile(r"sort=name"))
    expect(page.locator("table.keys tbody tr").first).to_contain_text("plain-0000")
    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("table.keys tbody tr")).to_have_count(5)
    page.get_by_label("Search API keys").fill("plain-001")
    page.get_by_label("Search API keys").press("Enter")
    expect(page.locator("table.keys tbody tr")).to_have_count(10)


def test_create_page_creates_a_key_and_shows_it_once(nojs_page: Page, live_server, alice):
    page = nojs_page
    page.get_by_role("link", name="Create API key").first.click()
    expect(page).to_have_url(re.compile(r"/api-keys/create/$"))
    page.get_by_label("Name").fill("no-js-key")
    page.get_by_label("Include metadata").check()
    page.get_by_label("Metadata", exact=True).fill('{"team": "ops"}')
    page.get_by_role("button", name="Create API key").click()
    expect(page.get_by_text("Created API key 'no-js-key'")).to_be_visible()
    encoded = page.get_by_label("API key").input_value()
    key = ApiKey.objects.get(name="no-js-key")
    assert key.metadata == {"team": "ops"}
    response = page.request.get(
        live_server.url + "/_security/_authenticate", headers={"Authorization": f"ApiKey {encoded}"}
    )
    assert response.status == 200 and response.json()["api_key"]["id"] == key.id


def test_key_page_updates_with_a_plain_form(nojs_page: Page, live_server, alice):
    make_keys(alice, 1, prefix="plain", id_prefix="n")
    page = nojs_page
    page.goto(f"{live_server.url}/api-keys/n0000000000000000000/")
    page.get_by_label("Metadata", exact=True).fill('{"v": 2}')
    page.get_by_role("button", name="Update API key").click()
    expect(page.get_by_text("Updated API key 'plain-0000'")).to_be_visible()
    assert ApiKey.objects.get().metadata == {"v": 2}


def test_delete_confirmation_is_a_page(nojs_page: Page, alice):
    make_keys(alice, 3, prefix="plain", id_prefix="n")
    page = nojs_page
    page.reload()
    page.get_by_label("Select plain-0001").check()
    page.get_by_label("Select plain-0002").check()
    page.get_by_role("button", name="Delete selected API keys").click()
    expect(page.get_by_role("heading", name="Delete 2 API keys?")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Deleted 2 API keys")).to_be_visible()
    assert set(ApiKey.objects.filter(invalidated=True).values_list("name", flat=True)) == {"plain-0001", "plain-0002"}
