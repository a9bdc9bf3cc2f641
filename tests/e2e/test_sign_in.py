"""Signing in to the console in a real browser."""

import re

from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD


def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base_url + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_it_redirects_to_sign_in_and_then_shows_the_api_keys_page(page: Page, live_server, alice, screenshot):
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    screenshot("sign-in")
    sign_in(page, live_server.url, "alice")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    expect(page.get_by_text("alice")).to_be_visible()
    screenshot("signed-in")


def test_a_wrong_password_is_refused_with_a_message(page: Page, live_server, alice, screenshot):
    sign_in(page, live_server.url, "alice", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    screenshot("sign-in-error")


def test_sign_out_returns_to_sign_in(page: Page, live_server, alice):
    sign_in(page, live_server.url, "alice")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
