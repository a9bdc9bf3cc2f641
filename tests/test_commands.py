"""Management commands: purge, managed keys, the first-run admin."""

import base64
import re
import sqlite3
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from apikeys.models import ApiKey, User
from tests.conftest import apikey_header, basic, new_key


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_purge_deletes_keys_past_retention_and_keeps_the_rest(alice, settings):
    settings.APIKEYS_RETENTION_DAYS = 7
    long_ago = timezone.now() - timedelta(days=8)
    recently = timezone.now() - timedelta(days=6)
    old_invalid, new_invalid = new_key(alice, "old-invalid"), new_key(alice, "new-invalid")
    old_expired, new_expired, active = (
        new_key(alice, "old-expired"),
        new_key(alice, "new-expired"),
        new_key(alice, "active"),
    )
    ApiKey.objects.filter(pk=old_invalid.key.id).update(invalidated=True, invalidation=long_ago)
    ApiKey.objects.filter(pk=new_invalid.key.id).update(invalidated=True, invalidation=recently)
    ApiKey.objects.filter(pk=old_expired.key.id).update(expiration=long_ago)
    ApiKey.objects.filter(pk=new_expired.key.id).update(expiration=recently)
    assert run("purge_api_keys") == "Purged 2 API keys.\n"
    assert set(ApiKey.objects.values_list("name", flat=True)) == {"new-invalid", "new-expired", "active"}
    assert active.key.id in ApiKey.objects.values_list("id", flat=True)


def test_invalidation_triggers_a_purge_at_most_once_per_interval(api, alice, settings):
    settings.APIKEYS_RETENTION_DAYS = 0
    first, second, third = new_key(alice, "a"), new_key(alice, "b"), new_key(alice, "c")
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        api("DELETE", "/_security/api_key", basic(alice), {"ids": [first.key.id], "owner": True})
    assert not ApiKey.objects.filter(pk=first.key.id).exists()
    with TestCase.captureOnCommitCallbacks(execute=True):
        api("DELETE", "/_security/api_key", basic(alice), {"ids": [second.key.id], "owner": True})
    assert ApiKey.objects.filter(pk=second.key.id).exists(), "the interval has not passed: no second purge"
    assert ApiKey.objects.filter(pk=third.key.id).exists()


def test_create_managed_api_key_prints_a_working_key_once(api, db):
    encoded = run("create_managed_api_key", "fleet-sync").strip()
    key_id = base64.b64decode(encoded).decode().split(":")[0]
    key = ApiKey.objects.get(pk=key_id)
    assert key.metadata == {"managed": True} and key.managed
    assert key.owner.is_service_account and key.realm == "_service_account"
    assert not key.owner.has_usable_password()
    response = api("GET", "/_security/_authenticate", apikey_header(encoded))
    # Managed by Elasticsearch, as every key of ours: Kibana's "managed" (metadata) is not Elasticsearch's `managed_by`.
    assert response.json()["api_key"] == {"id": key_id, "name": "fleet-sync", "managed_by": "elasticsearch"}


def test_create_managed_api_key_refuses_a_bad_name(db):
    with pytest.raises(CommandError, match="may not begin with an underscore"):
        run("create_managed_api_key", "_bad")
    assert not ApiKey.objects.exists()


def test_the_service_account_never_signs_in_with_a_password(api, db):
    run("create_managed_api_key", "fleet")
    key = ApiKey.objects.get()
    key.owner.set_password("service-password")
    key.owner.save()
    response = api("PUT", f"/_security/api_key/{key.id}", basic(key.owner, "service-password"), {"metadata": {"x": 1}})
    assert response.status_code == 401  # a service account never signs in with a password


def test_ensure_admin_creates_admin_once_and_prints_one_line(api, db):
    first = run("ensure_admin", "--port", "8123")
    match = re.fullmatch(r"Sign in at http://127\.0\.0\.1:8123/ as admin with password (\S+)\n", first)
    assert match
    assert User.objects.get(username="admin").is_superuser
    assert api("GET", "/_security/_authenticate", basic("admin", match.group(1))).json()["roles"] == ["superuser"]
    second = run("ensure_admin", "--port", "8123")
    assert "changepassword admin" in second and match.group(1) not in second


@pytest.mark.django_db(transaction=True)
def test_backup_writes_a_consistent_copy_or_says_how(alice, tmp_path):
    new_key(alice, "kept")
    out = StringIO()
    target = tmp_path / "copy.sqlite3"
    call_command("backup", str(target), stdout=out)
    if connection.vendor == "postgresql":
        assert "pg_dump --format=custom" in out.getvalue() and str(target) in out.getvalue()
        assert not target.exists()
        return
    assert "Backed up" in out.getvalue()
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT name FROM apikeys_apikey").fetchall() == [("kept",)]
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.django_db
def test_backup_refuses_to_write_over_the_database(db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with pytest.raises(CommandError, match="must not be written over the database"):
        call_command("backup", connection.settings_dict["NAME"])
