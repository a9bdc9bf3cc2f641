"""Signing in through the organisation's provider in a real browser: the provider's own login page (tests/oidc),
then the console."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from apikeys.models import RoleMapping
from tests.conftest import make_role
from tests.oidc.harness import running_provider


@pytest.fixture(scope="module")
def browser_provider(live_server):
    callback = f"{live_server.url}/accounts/oidc/callback/"
    with running_provider([callback], post_logout_redirect_uris=[f"{live_server.url}/accounts/login/"]) as started:
        yield started


@pytest.fixture
def sso(browser_provider, settings, own_keys_role):
    for name, value in browser_provider.settings().items():
        setattr(settings, name, value)
    settings.APIKEYS_OIDC_SCOPES = "openid email profile groups"
    settings.APIKEYS_OIDC_TIMEOUT_SECONDS = 2
    settings.APIKEYS_OIDC_NAME = "Acme SSO"
    make_role("key_admin", {"cluster": ["manage_api_key"]})
    RoleMapping.objects.create(name="staff", roles=["own_keys"], rules={"field": {"groups": "staff"}})
    RoleMapping.objects.create(name="admins", roles=["key_admin"], rules={"field": {"groups": "key-admins"}})
    yield browser_provider
    browser_provider.mode("normal")


@pytest.fixture(autouse=True)
def _provider_pages_are_not_ours(page: Page, browser_errors, browser_provider):
    """The provider's development login page asks for web fonts and a favicon it does not have: its console
    errors are not the console's, and are left out of the watch on our pages."""
    yield
    browser_errors[:] = [e for e in browser_errors if browser_provider.issuer not in e and "googleapis" not in e]


def sign_in_at_the_provider(page: Page, base_url: str, login: str) -> None:
    page.goto(base_url + "/")
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    page.get_by_placeholder("Enter any login").fill(login)
    page.get_by_placeholder("and password").fill("any password")
    page.get_by_role("button", name="Sign-in").click()


def test_a_person_signs_in_at_the_provider_creates_a_key_and_sees_its_realm(page: Page, live_server, sso, screenshot):
    page.goto(live_server.url + "/")
    screenshot("sign-in-with-provider")
    sign_in_at_the_provider(page, live_server.url, "alice")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("alice (oidc1)")
    page.get_by_role("link", name="Create API key").first.click()
    flyout = page.get_by_role("dialog", name="Create API key")
    flyout.get_by_label("Name").fill("from-sso")
    flyout.get_by_role("button", name="Create API key").click()
    expect(flyout.get_by_role("heading", name="Created API key 'from-sso'")).to_be_visible()
    flyout.get_by_role("link", name="Done").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="from-sso"))
    expect(row).to_contain_text("alice (oidc1)")
    row.get_by_role("link", name="from-sso", exact=True).click()
    expect(page.get_by_text("oidc1", exact=True)).to_be_visible()
    screenshot("key-of-a-provider-user")


def test_without_password_sign_in_the_page_offers_only_the_providers_button(page: Page, live_server, sso, settings):
    settings.APIKEYS_PASSWORD_SIGN_IN = False
    page.goto(live_server.url + "/")
    expect(page.get_by_role("link", name="Sign in with Acme SSO")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_count(0)
    expect(page.get_by_label("Username")).to_have_count(0)


@pytest.mark.parametrize(
    ("mode", "login", "words"),
    [
        ("wrong-issuer", "alice", "did not come from the identity provider configured here"),
        ("wrong-audience", "alice", "meant for another application"),
        ("wrong-nonce", "alice", "belonged to another sign-in"),
        ("expired", "alice", "had expired"),
        ("bad-signature", "alice", "not signed with its keys"),
        ("normal", "zoe", "no role mapping gives you a role"),
    ],
)
def test_a_failed_sign_in_comes_back_to_the_sign_in_page_with_a_sentence(
    page: Page, live_server, sso, mode, login, words
):
    sso.mode(mode)
    sign_in_at_the_provider(page, live_server.url, login)
    expect(page.get_by_role("alert")).to_contain_text(words)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/oidc/callback/"))


def test_a_key_rotated_at_the_provider_is_picked_up_by_the_next_sign_in(page: Page, live_server, sso):
    sign_in_at_the_provider(page, live_server.url, "alice")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    sso.rotate()
    sign_in_at_the_provider(page, live_server.url, "bob")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("bob (oidc1)")
