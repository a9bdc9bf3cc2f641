"""axe-core finds no serious or critical violation on any of the console's screens, wide or phone-page."""

from playwright.sync_api import Page, expect

from apikeys.models import ApiKey
from tests.conftest import new_key
from tests.e2e.support import BOOKS_READER, make_keys, open_signed_in, serious_accessibility_violations

WIDTHS = [1280, 375]


def check(page: Page, screenshot, name: str) -> None:
    """Run axe on the screen as it is at each width (a screenshot of each to look at)."""
    found = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(f"a11y-{name}-{width}")
        found[width] = serious_accessibility_violations(page)
    assert found == {width: [] for width in WIDTHS}


def test_the_sign_in_page(page: Page, live_server, alice, screenshot):
    page.goto(live_server.url + "/accounts/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    check(page, screenshot, "sign-in")
    assert not ApiKey.objects.exists()


def test_the_list(page: Page, live_server, admin, alice, screenshot):
    make_keys(alice, "web-frontend", "nightly-backup", "ci-runner")
    new_key(admin, "admin-tools", expiration="3d")
    open_signed_in(page, live_server, admin)
    expect(page.get_by_role("link", name="admin-tools", exact=True)).to_be_visible()
    page.get_by_role("checkbox", name="Select ci-runner").check()
    check(page, screenshot, "list")
    assert ApiKey.objects.count() == 4


def test_the_open_flyout_with_every_switch_on(page: Page, live_server, alice, screenshot):
    open_signed_in(page, live_server, alice)
    page.get_by_role("link", name="Create API key").first.click()
    flyout = page.get_by_role("dialog", name="Create API key")
    for switch in ("Restrict privileges", "Expire after time", "Include metadata"):
        flyout.get_by_role("switch", name=switch).check()
    flyout.get_by_label("Metadata", exact=True).fill('{"_bad": 1}')
    expect(flyout.locator("#metadata-status")).to_contain_text("_bad")
    check(page, screenshot, "flyout")
    assert not ApiKey.objects.exists()


def test_the_created_callout(page: Page, live_server, alice, screenshot):
    open_signed_in(page, live_server, alice)
    page.get_by_role("link", name="Create API key").first.click()
    flyout = page.get_by_role("dialog", name="Create API key")
    flyout.get_by_label("Name", exact=True).fill("shown-once")
    flyout.get_by_role("button", name="Create API key").click()
    expect(flyout.get_by_role("heading", name="Created API key 'shown-once'")).to_be_visible()
    check(page, screenshot, "created")
    assert ApiKey.objects.get().name == "shown-once"


def test_the_key_page_editable(page: Page, live_server, alice, screenshot):
    key = new_key(alice, "editable", role_descriptors=BOOKS_READER).key
    open_signed_in(page, live_server, alice, f"/api-keys/{key.id}/")
    page.get_by_label("Cluster privilege").fill("monitor")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_text("Cluster privilege monitor: denied")).to_be_visible()
    check(page, screenshot, "key-page-editable")
    assert ApiKey.objects.get().role_descriptors["reader"]["indices"][0]["names"] == ["books"]


def test_the_key_page_read_only(page: Page, live_server, admin, alice, screenshot):
    key = new_key(alice, "not-yours", role_descriptors=BOOKS_READER).key
    open_signed_in(page, live_server, admin, f"/api-keys/{key.id}/")
    expect(page.get_by_role("heading", name="API key details")).to_be_visible()
    check(page, screenshot, "key-page-read-only")
    assert ApiKey.objects.get().owner == alice


def test_the_confirm_dialog(page: Page, live_server, alice, screenshot):
    make_keys(alice, "first", "second")
    open_signed_in(page, live_server, alice)
    page.get_by_role("checkbox", name="Select first").check()
    page.get_by_role("checkbox", name="Select second").check()
    page.get_by_role("button", name="Delete 2 API keys").click()
    expect(page.get_by_role("dialog", name="Delete 2 API keys?")).to_be_visible()
    check(page, screenshot, "confirm")
    assert not ApiKey.objects.filter(invalidated=True).exists()
