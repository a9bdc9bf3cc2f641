"""Every console URL answers a method it does not accept with 405, for a signed-in user with a valid CSRF token
(so the refusal is the view's, not the CSRF check's), and the Allow header leaves that method out."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apikeys.models import User
from tests.conftest import new_key

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
# URL name → the methods it accepts (HEAD and OPTIONS aside: they are for the framework to answer).
ACCEPTED = {
    "home": {"GET"},
    "key_list": {"GET"},
    "create_key": {"GET", "POST"},
    "validate_json": {"POST"},
    "delete_keys": {"GET", "POST"},
    "audit_log": {"GET"},
    "key_detail": {"GET", "POST"},
    "check_privileges": {"POST"},
    "roll_key": {"GET", "POST"},
    "login": {"GET", "POST"},
    "logout": {"POST"},
}
NAMED_BY_KEY = {"key_detail", "check_privileges", "roll_key"}
WRONG = [
    pytest.param(name, method, id=f"{name}-{method}")
    for name, accepted in ACCEPTED.items()
    for method in sorted(METHODS - accepted)
]
# Any well-formed token will do, as long as the cookie and the header agree.
CSRF_TOKEN = "a" * 32


def csrf_client(user: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF_TOKEN
    return client


@pytest.mark.parametrize(("name", "method"), WRONG)
def test_it_rejects_a_method_it_does_not_accept(alice, name, method):
    key_id = new_key(alice).key.id
    url = reverse(name, kwargs={"key_id": key_id} if name in NAMED_BY_KEY else None)
    response = csrf_client(alice).generic(method, url, HTTP_X_CSRFTOKEN=CSRF_TOKEN)
    assert response.status_code == 405
    assert method not in response["Allow"]
