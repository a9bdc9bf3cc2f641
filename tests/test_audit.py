"""Every change and every failed authentication leaves an audit event, never a secret."""

from datetime import timedelta

from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from apikeys.models import ApiKey, AuditEvent
from apikeys.records.audit import FLOOD_CLIENTS
from apikeys.services import purge_api_keys
from tests.conftest import PASSWORD, apikey_header, basic

KEYS = "/_security/api_key"


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_key_changes_are_audited_with_who_what_and_where(api, alice):
    created = api("POST", KEYS, basic(alice), {"name": "audited"}).json()
    api("PUT", f"{KEYS}/{created['id']}", basic(alice), {"metadata": {"a": 1}})
    api("POST", f"{KEYS}/_bulk_update", basic(alice), {"ids": [created["id"]], "metadata": {"a": 2}})
    api("DELETE", KEYS, basic(alice), {"ids": [created["id"]], "owner": True})
    assert actions() == ["create", "update", "update", "invalidate"]
    for event in AuditEvent.objects.all():
        assert event.actor == "alice" and event.key_id == created["id"] and event.target == "audited"
        assert event.client_address == "127.0.0.1"
        assert created["api_key"] not in str(event.details) and created["encoded"] not in str(event.details)


def test_an_update_that_changes_nothing_is_not_audited(api, alice):
    created = api("POST", KEYS, basic(alice), {"name": "same", "metadata": {"a": 1}}).json()
    api("PUT", f"{KEYS}/{created['id']}", basic(alice), {"metadata": {"a": 1}})
    assert actions() == ["create"]


def test_grants_purges_roles_and_users_are_audited(api, admin, alice, settings):
    body = {"grant_type": "password", "username": "alice", "password": PASSWORD, "api_key": {"name": "g"}}
    granted = api("POST", f"{KEYS}/grant", basic(admin), body).json()
    api("PUT", "/_security/role/r1", basic(admin), {"cluster": ["monitor"]})
    api("PUT", "/_security/user/zed", basic(admin), {"password": "long enough", "roles": ["r1"]})
    api("DELETE", "/_security/user/zed", basic(admin))
    api("DELETE", "/_security/role/r1", basic(admin))
    ApiKey.objects.filter(pk=granted["id"]).update(expiration=timezone.now() - timedelta(days=30))
    purge_api_keys()
    assert actions() == ["grant", "role_change", "user_change", "user_delete", "role_delete", "purge"]
    user_change = AuditEvent.objects.get(action="user_change")
    assert user_change.details == {"created": True, "fields": ["roles", "password"]}
    assert "long enough" not in str(AuditEvent.objects.values_list())


def test_authentication_failures_are_audited_without_the_secret(api, alice):
    api("GET", "/_security/_authenticate", apikey_header("bm9wZTpzZWNyZXQtdmFsdWU="))  # nope:secret-value
    api("GET", "/_security/_authenticate", basic(alice, "wrong-password"))
    failures = AuditEvent.objects.filter(action="auth_failure").order_by("id")
    # One event per client address and window, counting its failures; it names the first.
    assert [(e.key_id, e.actor, e.count) for e in failures] == [("nope", "", 2)]
    assert "secret-value" not in str(list(AuditEvent.objects.values_list()))
    assert "wrong-password" not in str(list(AuditEvent.objects.values_list()))


def test_console_sign_in_failures_are_audited(client, alice):
    client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    event = AuditEvent.objects.get()
    assert event.action == "sign_in_failure" and event.actor == "alice"


def test_console_deletes_are_audited(alice, api):
    created = api("POST", KEYS, basic(alice), {"name": "from-console"}).json()
    browser = Client()
    browser.force_login(alice)
    browser.post("/api-keys/delete/", {"id": created["id"]})
    assert actions() == ["create", "invalidate"]


def test_the_audit_log_page_is_for_administrators_only(admin, alice, api):
    api("POST", KEYS, basic(alice), {"name": "seen-in-audit"})
    browser = Client()
    browser.force_login(alice)
    assert browser.get("/audit/").status_code == 403
    browser.force_login(admin)
    page = browser.get("/audit/")
    assert page.status_code == 200 and b"seen-in-audit" in page.content
    filtered = browser.get("/audit/?action=invalidate")
    assert b"seen-in-audit" not in filtered.content


def test_the_key_page_shows_the_keys_history(alice, api):
    created = api("POST", KEYS, basic(alice), {"name": "with-history"}).json()
    api("PUT", f"{KEYS}/{created['id']}", basic(alice), {"metadata": {"a": 1}})
    browser = Client()
    browser.force_login(alice)
    page = browser.get(f"/api-keys/{created['id']}/").content.decode()
    assert "History" in page
    assert "Created API key by alice from 127.0.0.1" in page and "Updated API key by alice" in page


def failing_from(client: Client, address: str, times: int = 1) -> None:
    for _ in range(times):
        client.get(
            "/_security/_authenticate",
            HTTP_AUTHORIZATION=apikey_header("bm9wZTpzZWNyZXQtdmFsdWU="),
            REMOTE_ADDR=address,
        )


def test_a_clients_failures_count_into_one_event_per_window(client, settings, db):
    settings.APIKEYS_AUTH_FAILURES_PER_KEY = 10_000
    failing_from(client, "10.0.0.1", times=37)
    failing_from(client, "10.0.0.2", times=3)
    events = {e.client_address: e.count for e in AuditEvent.objects.filter(action="auth_failure")}
    # Counts are written at 1, 2, 4, 8, ...: 37 failures show as 32 until the 64th.
    assert events == {"10.0.0.1": 32, "10.0.0.2": 2}


def test_a_flood_from_many_addresses_writes_a_few_rows(client, settings, db):
    settings.APIKEYS_AUTH_FAILURES_PER_KEY = 10_000
    for i in range(300):
        failing_from(client, f"10.1.{i // 250}.{i % 250}")
    events = AuditEvent.objects.filter(action="auth_failure")
    assert events.count() == FLOOD_CLIENTS + 1
    flood = events.get(client_address=None)
    # It counts every failure of the window (300 so far; counts are written at 1, 2, 4, ..., 256).
    assert flood.count == 256 and "many clients failing at once" in flood.details["reason"]


def test_failures_the_database_cannot_audit_are_still_refused(api, monkeypatch, caplog, db):
    def full(*args, **kwargs):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(AuditEvent.objects, "create", full)
    response = api("GET", "/_security/_authenticate", apikey_header("bm9wZTpzZWNyZXQtdmFsdWU="))
    assert response.status_code == 401
    assert "failed authentication not audited" in caplog.text
