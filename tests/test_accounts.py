"""The console's sign-in backend (`apikeys.access.accounts`): the signed-in user it reads on every request is the
user Django's own backend reads, field for field; a wrong password is hashed once, however many backends are
listed; a session signed in by Django's own backend, before this one was listed, stays signed in."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import get_hasher
from django.test import Client

from apikeys.access.accounts import BACKEND, Accounts
from apikeys.models import User
from tests.conftest import PASSWORD
from tests.test_fast_rows import assert_same_fields


def test_the_signed_in_user_is_the_user_djangos_backend_reads(alice):
    alice.metadata, alice.full_name, alice.role_names = {"team": "billing", "n": [1, None]}, "Alice L", ["a", "b"]
    alice.save()
    fast, plain = Accounts().get_user(alice.pk), ModelBackend().get_user(alice.pk)
    assert fast is not None and fast.pk == alice.pk
    assert_same_fields(fast, plain)
    assert fast.check_password(PASSWORD) and fast.get_session_auth_hash() == plain.get_session_auth_hash()


def test_an_unknown_or_disabled_user_is_nobody(alice):
    assert Accounts().get_user(alice.pk + 1000) is None
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert Accounts().get_user(alice.pk) is None


def test_a_wrong_password_is_hashed_once_and_refused(alice, monkeypatch):
    hasher = get_hasher()
    real = type(hasher).verify
    checked = []
    monkeypatch.setattr(type(hasher), "verify", lambda self, *args: checked.append(1) or real(self, *args))
    assert authenticate(None, username="alice", password="wrong") is None
    assert checked == [1]
    signed_in = authenticate(None, username="alice", password=PASSWORD)
    assert signed_in == alice and signed_in.backend == BACKEND


@pytest.mark.parametrize("backend", [BACKEND, "django.contrib.auth.backends.ModelBackend"])
def test_a_session_of_either_backend_reaches_the_console(alice, backend):
    browser = Client()
    browser.force_login(alice, backend=backend)
    page = browser.get("/api-keys/")
    assert page.status_code == 200 and b"alice" in page.content
