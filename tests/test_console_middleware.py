"""The console's middleware runs on the console's routes only (config/middleware.py): sessions, CSRF, messages and
the signed-in user there; none of them on the JSON API, where a cookie is never a credential."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from tests.conftest import basic, new_key


@pytest.fixture
def browser(alice) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def test_an_api_request_reads_no_session_and_sets_no_cookie(browser, alice):
    response = browser.get("/_security/_authenticate", HTTP_AUTHORIZATION=basic(alice))
    assert response.status_code == 200
    assert not response.cookies
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.get("Vary", "")
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "user") and not hasattr(request, "_messages")


def test_a_signed_in_browsers_session_cookie_is_no_credential_for_the_api(browser):
    response = browser.get("/_security/_authenticate")
    assert response.status_code == 401
    assert response.json()["error"]["reason"] == "missing authentication credentials for REST request"
    assert not response.cookies


def test_an_api_write_needs_no_csrf_token_even_with_a_session_cookie(browser, alice):
    response = browser.post(
        "/_security/api_key",
        {"name": "from-a-script"},
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(alice),
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "from-a-script"
    assert not response.cookies


def test_a_console_write_without_a_csrf_token_is_refused(browser, alice):
    created = new_key(alice)
    response = browser.post("/api-keys/delete/", {"id": created.key.id})
    assert response.status_code == 403
    assert browser.get(f"/api-keys/{created.key.id}/").status_code == 200  # still there, still active
    created.key.refresh_from_db()
    assert created.key.invalidated is False


def test_the_console_has_the_session_the_signed_in_user_and_its_messages(browser, alice):
    created = new_key(alice, name="to-delete")
    page = browser.get("/api-keys/")
    assert page.status_code == 200
    assert page.wsgi_request.user == alice and page.wsgi_request.session.session_key
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else browser.cookies["csrftoken"].value
    response = browser.post("/api-keys/delete/", {"id": created.key.id, "csrfmiddlewaretoken": token}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/api-keys/")
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Deleted API key 'to-delete'"]
    assert "Deleted API key &#x27;to-delete&#x27;" in response.content.decode()  # the message, shown once


def test_static_files_and_htmx_stay_with_the_console(browser):
    page = browser.get("/api-keys/", HTTP_HX_REQUEST="true")
    assert page.wsgi_request.htmx
    assert browser.get("/_security/_authenticate", HTTP_HX_REQUEST="true").wsgi_request.__dict__.get("htmx") is None
