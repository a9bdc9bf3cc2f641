"""Django admin's user pages: a user is unique within its realm there too."""

import pytest

from apikeys.models import User
from tests.conftest import PASSWORD

ADD_USER = "/admin/apikeys/user/add/"


def add_user(client, username: str):
    return client.post(
        ADD_USER,
        {"username": username, "usable_password": "true", "password1": PASSWORD, "password2": PASSWORD},
    )


@pytest.fixture
def signed_in_admin(client, admin):
    client.force_login(admin)
    return client


def test_the_admin_adds_a_native_user_whose_name_a_provider_user_has(signed_in_admin):
    User.objects.create_user("alice", external_realm="oidc1")

    answer = add_user(signed_in_admin, "alice")

    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert set(User.objects.filter(username="alice").values_list("external_realm", flat=True)) == {"", "oidc1"}
    assert User.objects.get(username="alice", external_realm="").check_password(PASSWORD)


@pytest.mark.parametrize("taken", ["bob", "BOB"])
def test_the_admin_refuses_a_name_a_native_user_has_whatever_its_case(signed_in_admin, bob, taken):
    answer = add_user(signed_in_admin, taken)

    assert answer.status_code == 200
    assert "A user with that username already exists." in answer.content.decode()
    assert User.objects.filter(username__iexact="bob").count() == 1
