"""No page logs a console error or breaks the Content-Security-Policy (the `page` fixture watches every test;
this walks every screen on purpose, and proves the watch sees a violation)."""

import re

from playwright.sync_api import Page, expect

from apikeys.models import ApiKey
from apikeys.services import create_managed_api_key
from tests.conftest import new_key
from tests.e2e.support import BOOKS_READER, make_keys
from tests.e2e.test_sign_in import sign_in


def test_the_watch_reports_a_csp_violation(page: Page, live_server, alice, browser_errors):
    page.goto(live_server.url + "/accounts/login/")
    page.evaluate("document.head.append(Object.assign(document.createElement('style'), {textContent: 'h1 {}'}))")
    for _ in range(50):  # both reports: the page's securitypolicyviolation event and Chromium's own message
        if len(browser_errors) >= 2:
            break
        page.wait_for_timeout(50)
    assert any(e.startswith("console error: CSP violation: style-src") for e in browser_errors)
    assert any("violates the following Content Security Policy directive" in e for e in browser_errors)
    browser_errors.clear()
    assert not ApiKey.objects.exists()


def test_every_screen_is_free_of_console_errors(page: Page, live_server, admin, alice, browser_errors):
    theirs = new_key(alice, "alices", role_descriptors=BOOKS_READER).key
    managed = create_managed_api_key("fleet").key
    make_keys(admin, *(f"admin-{i:02d}" for i in range(30)))
    mine = make_keys(admin, "mine", minutes_ago=600)[0]

    sign_in(page, live_server.url, "admin")
    page.get_by_role("searchbox", name="Search API keys").fill("admin-1")
    expect(page.get_by_text("Showing 1–10 of 10 API keys")).to_be_visible()
    page.get_by_label("Type").select_option("personal")
    expect(page).to_have_url(re.compile(r"type=personal"))
    page.get_by_role("link", name="Name", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=name"))
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()

    page.get_by_role("link", name="Create API key").click()
    flyout = page.get_by_role("dialog", name="Create API key")
    flyout.get_by_label("Name", exact=True).fill("console-check")
    for switch in ("Restrict privileges", "Expire after time", "Include metadata"):
        flyout.get_by_role("switch", name=switch).check()
    flyout.get_by_role("button", name="Read-only").click()
    flyout.get_by_role("button", name="Create API key").click()
    expect(flyout.get_by_role("heading", name="Created API key 'console-check'")).to_be_visible()
    flyout.get_by_role("link", name="Done").click()

    for key in (theirs, managed, mine):
        page.goto(f"{live_server.url}/api-keys/{key.id}/")
        page.get_by_label("Cluster privilege").fill("monitor")
        page.get_by_role("button", name="Check", exact=True).click()
        expect(page.get_by_text("Cluster privilege monitor:")).to_be_visible()

    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Delete all expired").click()
    page.get_by_role("dialog").get_by_role("link", name="Cancel").click()
    page.goto(f"{live_server.url}/api-keys/delete/?id={mine.id}")
    page.goto(f"{live_server.url}/api-keys/create/")
    page.goto(f"{live_server.url}/audit/")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert browser_errors == []
    assert ApiKey.objects.filter(name="console-check").exists()
