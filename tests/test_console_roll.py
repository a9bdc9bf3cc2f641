"""The console's side of rolling and of the lifetime policy, through Django's test client: who gets the roll
dialog, what a refused roll says, the flyout showing the limit and pre-filling the default."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from apikeys.access.principals import Principal
from apikeys.models import ApiKey
from apikeys.services import roll_api_key
from tests.conftest import new_key

HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_roll_dialog_is_a_dialog_for_htmx_and_a_page_otherwise(alice):
    key = new_key(alice, "svc").key
    client = signed_in(alice)
    fragment = client.get(f"/api-keys/{key.id}/roll/", **HTMX)
    assert fragment.status_code == 200 and b"<dialog" in fragment.content and b"<html" not in fragment.content
    assert b"Roll API key 'svc'?" in fragment.content
    page = client.get(f"/api-keys/{key.id}/roll/")
    assert b"<html" in page.content and b"<dialog" not in page.content
    assert b'value="24h" checked' in page.content


def test_someone_elses_key_cannot_be_rolled_from_the_console(alice, bob):
    bobs = new_key(bob, "bobs").key
    client = signed_in(alice)
    assert client.get(f"/api-keys/{bobs.id}/roll/").status_code == 404
    assert client.post(f"/api-keys/{bobs.id}/roll/", {"grace_period": "1h"}).status_code == 404
    assert ApiKey.objects.count() == 1


def test_a_manager_sees_others_keys_but_may_not_roll_them(alice, manager):
    key = new_key(alice, "alices").key
    client = signed_in(manager)
    page = client.get(f"/api-keys/{key.id}/")
    assert page.status_code == 200 and b"Roll key" not in page.content
    assert client.get(f"/api-keys/{key.id}/roll/").status_code == 403
    response = client.post(f"/api-keys/{key.id}/roll/", {"grace_period": "1h"}, **HTMX)
    assert b"It belongs to another user." in response.content
    assert ApiKey.objects.count() == 1


def test_an_expired_or_rolled_key_has_no_roll_dialog(alice):
    expired = new_key(alice, "expired", expiration="1d").key
    ApiKey.objects.filter(pk=expired.pk).update(expiration=timezone.now() - timedelta(seconds=1))
    rolled = new_key(alice, "rolled").key
    roll_api_key(Principal.for_user(alice), rolled.id, {})
    client = signed_in(alice)
    assert b"has expired" in client.get(f"/api-keys/{expired.id}/roll/").content
    refused = client.get(f"/api-keys/{rolled.id}/roll/")
    assert refused.status_code == 403 and b"rolled already" in refused.content


def test_a_roll_that_loses_a_race_says_so_in_the_dialog(alice):
    key = new_key(alice, "raced").key
    client = signed_in(alice)
    client.get(f"/api-keys/{key.id}/roll/", **HTMX)
    successor = roll_api_key(Principal.for_user(alice), key.id, {})  # someone else rolled it meanwhile

    response = client.post(f"/api-keys/{key.id}/roll/", {"grace_period": "1h"}, **HTMX)

    assert response.status_code == 200 and b'role="alert"' in response.content
    assert b"This API key has been rolled already" in response.content
    assert ApiKey.objects.get(pk=key.id).rolled_to == successor.key.id
    assert ApiKey.objects.count() == 2


def test_a_bad_choice_is_refused_without_rolling(alice):
    key = new_key(alice, "choice").key
    response = signed_in(alice).post(f"/api-keys/{key.id}/roll/", {"grace_period": "99d"})
    assert response.status_code == 400 and ApiKey.objects.count() == 1


def test_the_flyout_has_no_expiry_by_default(alice):
    page = signed_in(alice).get("/api-keys/create/").content.decode()
    assert 'id="id_expire" name="expire" aria-controls="expire-panel">' in page
    assert "may live at most" not in page


def test_the_flyout_prefills_the_default_lifetime_and_shows_the_limit(alice, settings):
    settings.APIKEYS_DEFAULT_EXPIRATION = "30d"
    settings.APIKEYS_MAX_EXPIRATION = "2160h"
    page = signed_in(alice).get("/api-keys/create/").content.decode()
    assert 'id="id_expire" name="expire" aria-controls="expire-panel" checked>' in page
    assert 'name="expire_amount" min="1" max="100000" value="30"' in page
    assert '<option value="days" selected>' in page
    assert "API keys may live at most 90 days." in page


def test_the_flyout_turns_expiry_on_when_keys_must_expire(alice, settings):
    settings.APIKEYS_MAX_EXPIRATION = "12h"
    page = signed_in(alice).get("/api-keys/create/").content.decode()
    assert 'aria-controls="expire-panel" checked>' in page and "API keys may live at most 12 hours." in page


def test_the_flyout_refuses_a_lifetime_over_the_limit_with_its_words(alice, settings):
    settings.APIKEYS_MAX_EXPIRATION = "30d"
    body = {"name": "too-long", "expire": "on", "expire_amount": "31", "expire_unit": "days"}
    response = signed_in(alice).post("/api-keys/create/", body, **HTMX)
    assert b"is longer than the maximum API key lifetime [30d]" in response.content
    assert ApiKey.objects.count() == 0
