"""The OpenID Connect provider the tests sign in with (`provider.mjs`: the certified `oidc-provider` and its
development login page, any password), started on a free 127.0.0.1 port, awaited by its ready line and always
stopped. `sign_in_over_http` walks its login form with plain HTTP, for tests without a browser."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from tests.faults.servers import SERVER_START_SECONDS, ReadyLines

HERE = Path(__file__).resolve().parent
CLIENT_ID = "apikeys-console"
CLIENT_SECRET = "tests-only-client-secret"
READY = b"oidc-provider ready"
# Who may sign in at the provider, with their claims. `username` is what `preferred_username` says.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "alice": {"groups": ["staff", "key-admins"], "email": "alice@idp.example", "name": "Alice Provider"},
    "bob": {"groups": ["staff"], "email": "bob@idp.example", "name": "Bob Provider"},
    "zoe": {"groups": ["visitors"], "email": "zoe@idp.example", "name": "Zoe Nobody"},
}


class OidcProvider:
    """One provider process. `mode` and `rotate` change how it answers; each returns once it has."""

    def __init__(self, redirect_uris: list[str], post_logout_redirect_uris: list[str] = (), slow_seconds: float = 3):
        self.config = {
            "port": 0,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": list(post_logout_redirect_uris),
            "accounts": ACCOUNTS,
            "slow_seconds": slow_seconds,
        }
        self.process: subprocess.Popen | None = None
        self.lines: ReadyLines | None = None
        self.answers = 0
        self.issuer = ""

    def start(self) -> None:
        self._config_file = tempfile.NamedTemporaryFile("w", suffix=".json", prefix="oidc-provider-")  # noqa: SIM115
        json.dump(self.config, self._config_file)
        self._config_file.flush()
        self.process = subprocess.Popen(
            ["node", str(HERE / "provider.mjs"), self._config_file.name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.lines = ReadyLines(self.process, READY)
        self._await("the OpenID Connect provider")
        said = b"".join(self.lines.last_lines).decode()
        self.issuer = re.search(r"oidc-provider ready (http://\S+)", said).group(1)

    def _await(self, what: str) -> None:
        self.answers += 1
        self.lines.wait(SERVER_START_SECONDS, what, count=self.answers)

    def _command(self, line: str) -> None:
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()
        self._await(f"the provider to take `{line}`")

    def mode(self, name: str) -> None:
        self._command(f"mode {name}")

    def set_groups(self, login: str, *groups: str) -> None:
        self._command(" ".join(["groups", login, *groups]))

    def rotate(self) -> None:
        self._command("rotate")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process.stdin.close()
        self._config_file.close()

    def settings(self) -> dict[str, Any]:
        """The console's settings for signing in with this provider."""
        return {
            "APIKEYS_OIDC_ISSUER": self.issuer,
            "APIKEYS_OIDC_CLIENT_ID": CLIENT_ID,
            "APIKEYS_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        }


@contextmanager
def running_provider(redirect_uris: list[str], **options: Any) -> Iterator[OidcProvider]:
    provider = OidcProvider(redirect_uris, **options)
    try:
        provider.start()
        yield provider
    finally:
        provider.stop()


class _Form(HTMLParser):
    """The first form of a page: its action and its fields' values."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = found.get("action") or ""
        elif tag == "input" and found.get("name"):
            self.fields[found["name"]] = found.get("value") or ""


def sign_in_over_http(provider: OidcProvider, authorization_url: str, login: str, timeout: float = 10) -> str:
    """Go where the console sent the browser, fill in the provider's login page as `login` and follow the
    provider's redirects up to the console's callback; the callback URL, which is not opened."""
    session = requests.Session()
    response = session.get(authorization_url, timeout=timeout)
    response.raise_for_status()
    form = _Form()
    form.feed(response.text)
    assert form.action is not None, f"no login form at the provider: {response.text[:300]}"
    fields = {**form.fields, "login": login, "password": "any password"}
    url = urljoin(response.url, form.action)
    response = session.post(url, data=fields, allow_redirects=False, timeout=timeout)
    while response.is_redirect:
        url = urljoin(url, response.headers["Location"])
        if not url.startswith(provider.issuer + "/"):
            return url
        response = session.get(url, allow_redirects=False, timeout=timeout)
    raise AssertionError(f"the provider did not send us back: {response.status_code} {response.text[:300]}")
