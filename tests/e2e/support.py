"""Helpers shared by the browser tests: data made with the ORM (fast), and small page conveniences."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Locator, Page, expect

from apikeys.access.principals import user_roles
from apikeys.domain import keys
from apikeys.models import ApiKey, User
from tests.conftest import PASSWORD

BOOKS_READER = {"reader": {"cluster": [], "indices": [{"names": ["books"], "privileges": ["read"]}]}}
SERIOUS = {"serious", "critical"}


def make_keys(owner: User, *names: str, minutes_ago: int = 0, minutes_apart: int = 1, **fields: Any) -> list[ApiKey]:
    """Keys straight into the table (no secret anyone can use), created newest first in the order given."""
    now = timezone.now() - timedelta(minutes=minutes_ago)
    made = [
        ApiKey(
            id=keys.generate_id(),
            name=name,
            owner=owner,
            username=owner.username,
            realm=owner.realm,
            creation=now - timedelta(minutes=i * minutes_apart),
            hash="{SSHA256}unusable",
            limited_by=user_roles(owner),
            **fields,
        )
        for i, name in enumerate(names)
    ]
    made = ApiKey.objects.bulk_create(made)
    # The services forget cached list counts on every write; a write that goes around them must too.
    cache.clear()
    return made


def make_key(owner: User, name: str, **fields: Any) -> ApiKey:
    return make_keys(owner, name, **fields)[0]


def expired(**fields: Any) -> dict[str, Any]:
    return {"expiration": timezone.now() - timedelta(hours=1), **fields}


def invalidated(**fields: Any) -> dict[str, Any]:
    return {"invalidated": True, "invalidation": timezone.now(), **fields}


def open_signed_in(page: Page, live_server, user: User, path: str = "/") -> None:
    """Open `path` as `user` without going through the sign-in form (test_sign_in.py covers the form):
    a session made on the server side, handed to the browser as its cookie."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page.goto(live_server.url + path)


@contextmanager
def signed_in_without_javascript(browser: Browser, live_server, username: str, width: int = 1280) -> Iterator[Page]:
    """A page with JavaScript off, signed in through the form as `username` (the console as plain pages)."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
        yield page
    finally:
        context.close()


def rows(page: Page) -> Locator:
    return page.locator("table.keys tbody tr")


def row_names(page: Page) -> list[str]:
    return rows(page).locator("td[data-label=Name] a").all_inner_texts()


def expect_names(page: Page, names: list[str]) -> None:
    """The table shows exactly these key names, in this order (waiting for htmx to swap it)."""
    expect(rows(page).locator("td[data-label=Name] a")).to_have_text(names)


def overview_value(page: Page, label: str) -> Locator:
    """The value beside `label` in the key page's Overview."""
    return page.locator(".overview > div").filter(has=page.locator("dt", has_text=label)).locator("dd")


def authenticates(page: Page, live_server, encoded: str) -> int:
    """The status `_authenticate` answers the browser's request context with this key."""
    response = page.request.get(
        live_server.url + "/_security/_authenticate", headers={"Authorization": f"ApiKey {encoded}"}
    )
    return response.status


def dialog(page: Page) -> Locator:
    return page.get_by_role("dialog")


def serious_accessibility_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one readable line each."""
    response = Axe().run(page).response
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in response["violations"]
        if v["impact"] in SERIOUS
    ]
