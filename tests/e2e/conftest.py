"""Browser tests: Chromium from $CHROMIUM_PATH, else Debian's, else Playwright's own.

Every test's `page` is watched: a console error, an uncaught exception or a Content-Security-Policy
violation on any page fails the test (the console sends a strict CSP, so an inline handler, style or
script would be refused and break the page silently)."""

import os
import shutil
from pathlib import Path

import pytest

# pytest-playwright empties its output folder (test-results/) when a session starts; E2E_SCREENSHOTS keeps
# the pictures of one run elsewhere, out of reach of the next.
ARTIFACTS = Path(
    os.environ.get("E2E_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Runs before any page script; a CSP violation becomes a console error the watcher below collects.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} refused ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});
"""


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None  # Playwright's own browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    args = {**browser_type_launch_args, "args": CHROMIUM_FLAGS}
    if path := chromium_path():
        args["executable_path"] = path
    return args


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def browser_errors() -> list[str]:
    """What went wrong in the browser during the test: console errors, uncaught exceptions, CSP violations."""
    return []


@pytest.fixture
def page(page, browser_errors):
    """pytest-playwright's page, failing the test on any browser error (see `browser_errors`)."""

    def on_console(message) -> None:
        if message.type == "error":
            browser_errors.append(f"console error: {message.text} ({message.location.get('url', '')})")

    page.add_init_script(REPORT_CSP_VIOLATIONS)
    page.on("console", on_console)
    page.on("pageerror", lambda error: browser_errors.append(f"uncaught exception: {error}"))
    yield page
    assert browser_errors == [], "the browser reported errors"


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot as a test artifact: test-results/screenshots/<name>.png, of the test's `page`
    or of the one given (`of`: a page of its own context, without JavaScript say)."""

    def take(name: str, of=None) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        (of or page).screenshot(path=str(path), full_page=True)
        return path

    return take
