"""Hardening: headers, cookies, deploy checks, throttling, and logs that never carry a credential."""

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

from apikeys.domain import keys
from apikeys.infra.logs import ScrubSecrets, scrub
from tests.conftest import PASSWORD, apikey_header, basic, new_key

ROOT = Path(__file__).resolve().parents[1]
AUTHENTICATE = "/_security/_authenticate"


def test_console_pages_send_a_strict_content_security_policy_and_hardening_headers(client, alice):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_session_cookie_is_http_only_and_same_site(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SECRET_KEY": "k" * 20 + "-production-secret-with-enough-entropy-9f8e7d6c5b4a",
        "DJANGO_DEBUG": "false",
        "DJANGO_HTTPS": "true",
        "DJANGO_ALLOWED_HOSTS": "keys.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_repeated_failures_for_one_key_id_answer_429_with_retry_after(api, alice, settings):
    settings.APIKEYS_AUTH_FAILURES_PER_KEY = 3
    created = new_key(alice)
    wrong = apikey_header(keys.encode(created.key.id, keys.generate_secret()))
    statuses = [api("GET", AUTHENTICATE, wrong).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    throttled = api("GET", AUTHENTICATE, wrong)
    assert throttled.json()["error"]["type"] == "too_many_requests"
    assert 1 <= int(throttled["Retry-After"]) <= settings.APIKEYS_AUTH_FAILURE_WINDOW_SECONDS
    assert throttled["X-Elastic-Product"] == "Elasticsearch"


def test_the_valid_key_holder_is_never_locked_out(api, alice, settings):
    settings.APIKEYS_AUTH_FAILURES_PER_KEY = 2
    settings.APIKEYS_AUTH_FAILURES_PER_CLIENT = 2
    created = new_key(alice)
    wrong = apikey_header(keys.encode(created.key.id, keys.generate_secret()))
    for _ in range(6):
        api("GET", AUTHENTICATE, wrong)
    assert api("GET", AUTHENTICATE, wrong).status_code == 429
    assert api("GET", AUTHENTICATE, apikey_header(created.encoded)).status_code == 200


def test_repeated_basic_failures_from_one_client_answer_429(api, alice, settings):
    settings.APIKEYS_AUTH_FAILURES_PER_CLIENT = 3
    statuses = [api("GET", AUTHENTICATE, basic(alice, "wrong")).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert api("GET", AUTHENTICATE, basic(alice)).status_code == 200


def test_sign_in_locks_out_after_repeated_failures(client, alice, settings):
    settings.APIKEYS_SIGN_IN_FAILURES = 3
    for _ in range(3):
        assert client.post("/accounts/login/", {"username": "alice", "password": "nope"}).status_code == 200
    locked = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
    assert "_auth_user_id" not in client.session


def test_a_successful_sign_in_clears_the_failures(client, alice, settings):
    settings.APIKEYS_SIGN_IN_FAILURES = 3
    for _ in range(2):
        client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    client.logout()
    for _ in range(2):
        assert client.post("/accounts/login/", {"username": "alice", "password": "nope"}).status_code == 200


def test_scrub_removes_credentials_from_text():
    encoded = keys.encode(keys.generate_id(), keys.generate_secret())
    text = f'Authorization: ApiKey {encoded} body {{"api_key": "abcDEF123secret", "password": "hunter22"}} Basic dXNlcjpwYXNz'
    cleaned = scrub(text)
    for secret in (encoded, "abcDEF123secret", "hunter22", "dXNlcjpwYXNz"):
        assert secret not in cleaned
    assert "[REDACTED]" in cleaned


def test_every_log_line_is_scrubbed_whoever_logs_it(api, alice):
    console = next(h for h in logging.getLogger().handlers if any(isinstance(f, ScrubSecrets) for f in h.filters))
    output = io.StringIO()
    previous = console.setStream(output)
    try:
        created = new_key(alice)
        wrong = keys.encode(created.key.id, keys.generate_secret())
        api("GET", AUTHENTICATE, apikey_header(wrong))
        logging.getLogger("some.library").warning("request headers: Authorization=%s", apikey_header(created.encoded))
    finally:
        console.setStream(previous)
    text = output.getvalue()
    assert "authentication failed" in text and "request headers" in text
    assert wrong not in text and created.encoded not in text and created.secret not in text
