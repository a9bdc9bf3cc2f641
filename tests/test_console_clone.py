"""The console's Clone key and certificate identity, through Django's test client: who gets the clone dialog,
what a clone copies and what it is limited by, what a refused clone says and leaves behind; a cross-cluster key
created with a certificate identity, and its page."""

from __future__ import annotations

import html
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from apikeys.access.principals import Principal, user_roles
from apikeys.models import ApiKey, AuditEvent
from apikeys.services import create_cross_cluster_api_key
from tests.conftest import new_key

HTMX = {"HTTP_HX_REQUEST": "true"}
BOOKS = {"books": {"cluster": [], "indices": [{"names": ["books"], "privileges": ["read"]}]}}


def signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


def test_the_clone_dialog_is_a_dialog_for_htmx_and_a_page_otherwise(alice):
    key = new_key(alice, "svc").key
    client = signed_in(alice)
    page = client.get(f"/api-keys/{key.id}/")
    assert b"Clone key" in page.content
    fragment = client.get(f"/api-keys/{key.id}/clone/", **HTMX)
    assert fragment.status_code == 200 and b"<dialog" in fragment.content and b"<html" not in fragment.content
    assert b"Clone API key 'svc'?" in fragment.content and b'name="name" value="svc"' in fragment.content
    assert b"This key never expires." in fragment.content
    full = client.get(f"/api-keys/{key.id}/clone/")
    assert b"<html" in full.content and b"<dialog" not in full.content


def test_a_clone_has_the_key_s_descriptors_and_metadata_and_the_owner_s_roles_now(alice, own_keys_role):
    source = new_key(alice, "nightly", role_descriptors=BOOKS, metadata={"team": "ops"}, expiration="3d").key
    own_keys_role.descriptor = {**own_keys_role.descriptor, "cluster": ["manage_own_api_key", "monitor"]}
    own_keys_role.save()

    response = signed_in(alice).post(f"/api-keys/{source.id}/clone/", {"name": "nightly-2", "expiration": ""}, **HTMX)

    shown = html.unescape(response.content.decode())
    assert response.status_code == 200 and "Cloned API key 'nightly-2'" in shown
    assert "Copy this key now. You will not be able to view it again." in shown
    assert response["HX-Trigger"].startswith('{"apikeys-changed"')
    clone = ApiKey.objects.exclude(pk=source.id).get()
    assert clone.owner == alice and clone.name == "nightly-2"
    assert clone.role_descriptors == source.role_descriptors
    assert clone.limited_by == user_roles(alice) != source.limited_by  # the owner's roles now, not then
    assert clone.metadata == {"team": "ops", "_cloned_from": source.id}
    assert clone.expiration == source.expiration
    event = AuditEvent.objects.get(action="clone")
    assert (event.actor, event.key_id, event.details["cloned_from"]) == ("alice", clone.id, source.id)


def test_the_expiration_choice_is_new_or_none(alice):
    source = new_key(alice, "src", expiration="3d").key
    client = signed_in(alice)
    client.post(f"/api-keys/{source.id}/clone/", {"name": "week", "expiration": "7d"}, **HTMX)
    client.post(f"/api-keys/{source.id}/clone/", {"name": "forever", "expiration": "never"}, **HTMX)
    week = ApiKey.objects.get(name="week").expiration
    assert timedelta(days=7) - timedelta(minutes=1) < week - timezone.now() <= timedelta(days=7)
    assert ApiKey.objects.get(name="forever").expiration is None


def test_the_lifetime_policy_leaves_out_what_it_forbids(alice, settings):
    key = new_key(alice, "src").key
    settings.APIKEYS_MAX_EXPIRATION = "30d"
    dialog = signed_in(alice).get(f"/api-keys/{key.id}/clone/", **HTMX).content.decode()
    assert 'value="7d"' in dialog and 'value="30d"' in dialog
    assert 'value="90d"' not in dialog and 'value="never"' not in dialog
    response = signed_in(alice).post(f"/api-keys/{key.id}/clone/", {"name": "x", "expiration": "never"})
    assert response.status_code == 400 and ApiKey.objects.count() == 1


def test_a_bad_name_is_refused_in_the_dialog_and_nothing_is_created(alice):
    key = new_key(alice, "src").key
    response = signed_in(alice).post(f"/api-keys/{key.id}/clone/", {"name": "_hidden"}, **HTMX)
    assert response.status_code == 200 and b"api key name may not begin with an underscore" in response.content
    response = signed_in(alice).post(f"/api-keys/{key.id}/clone/", {"name": ""})
    assert response.status_code == 400 and b"Enter a name." in response.content
    assert ApiKey.objects.count() == 1


def test_someone_elses_key_cannot_be_cloned_from_the_console(alice, bob, manager):
    bobs = new_key(bob, "bobs").key
    assert signed_in(alice).get(f"/api-keys/{bobs.id}/clone/").status_code == 404
    assert signed_in(alice).post(f"/api-keys/{bobs.id}/clone/", {"name": "mine"}).status_code == 404
    client = signed_in(manager)
    assert b"Clone key" not in client.get(f"/api-keys/{bobs.id}/").content
    assert client.get(f"/api-keys/{bobs.id}/clone/").status_code == 403
    response = client.post(f"/api-keys/{bobs.id}/clone/", {"name": "mine"}, **HTMX)
    assert b"It belongs to another user." in response.content
    assert ApiKey.objects.count() == 1


def test_expired_invalidated_and_cross_cluster_keys_have_no_clone(alice, admin):
    expired = new_key(alice, "expired", expiration="1d").key
    ApiKey.objects.filter(pk=expired.pk).update(expiration=timezone.now() - timedelta(seconds=1))
    invalidated = new_key(alice, "gone").key
    ApiKey.objects.filter(pk=invalidated.pk).update(invalidated=True, invalidation=timezone.now())
    remote = create_cross_cluster_api_key(
        Principal.for_user(admin), {"name": "r", "access": {"search": [{"names": ["*"]}]}}
    )
    for owner, key in ((alice, expired), (alice, invalidated), (admin, remote.key)):
        client = signed_in(owner)
        assert b"Clone key" not in client.get(f"/api-keys/{key.id}/").content
        assert client.get(f"/api-keys/{key.id}/clone/").status_code == 403
        assert client.post(f"/api-keys/{key.id}/clone/", {"name": "copy"}).status_code == 400
    assert ApiKey.objects.count() == 3


def test_the_clone_s_page_says_where_it_came_from_and_its_update_keeps_that(alice):
    source = new_key(alice, "src", metadata={"team": "ops"}).key
    client = signed_in(alice)
    client.post(f"/api-keys/{source.id}/clone/", {"name": "copy"}, **HTMX)
    clone = ApiKey.objects.get(name="copy")
    page = client.get(f"/api-keys/{clone.id}/").content.decode()
    assert "<dt>Cloned from</dt>" in page and f'href="/api-keys/{source.id}/"' in page
    assert "_cloned_from" not in page.split('name="metadata"')[1].split("</textarea>")[0]  # not in the editor

    client.post(f"/api-keys/{clone.id}/", {"role_descriptors": "{}", "metadata": '{"team": "dev"}'})

    assert ApiKey.objects.get(pk=clone.id).metadata == {"team": "dev", "_cloned_from": source.id}


def test_a_cross_cluster_key_gets_a_certificate_identity_in_the_flyout(admin):
    body = {
        "name": "remote",
        "type": "cross_cluster",
        "access": '{"search": [{"names": ["logs-*"]}]}',
        "certificate_identity": "CN=remote-.*,O=Example",
    }
    response = signed_in(admin).post("/api-keys/create/", body, **HTMX)
    assert b"Created API key 'remote'" in response.content
    key = ApiKey.objects.get()
    assert key.certificate_identity == "CN=remote-.*,O=Example"
    page = signed_in(admin).get(f"/api-keys/{key.id}/").content.decode()
    assert "<dt>Certificate identity</dt><dd><code>CN=remote-.*,O=Example</code></dd>" in page


def test_a_bad_certificate_identity_is_refused_beside_its_field(admin):
    body = {"name": "remote", "type": "cross_cluster", "access": '{"search": [{"names": ["*"]}]}'}
    response = signed_in(admin).post("/api-keys/create/", {**body, "certificate_identity": "CN=("}, **HTMX)
    assert b'id="certificate-identity-error"' in response.content
    assert b"Invalid certificate_identity format: [CN=(]. Must be a valid regex." in response.content
    assert not ApiKey.objects.exists()
    signed_in(admin).post("/api-keys/create/", {**body, "certificate_identity": ""}, **HTMX)
    assert ApiKey.objects.get().certificate_identity is None


def test_a_user_key_ignores_a_certificate_identity_typed_before_switching_type(alice):
    signed_in(alice).post("/api-keys/create/", {"name": "rest", "certificate_identity": "CN=x"}, **HTMX)
    assert ApiKey.objects.get().certificate_identity is None


def test_a_cross_cluster_key_page_says_when_it_has_no_certificate_identity(admin):
    remote = create_cross_cluster_api_key(
        Principal.for_user(admin), {"name": "r", "access": {"search": [{"names": ["*"]}]}}
    )
    page = signed_in(admin).get(f"/api-keys/{remote.key.id}/").content.decode()
    assert "<dt>Certificate identity</dt><dd>None</dd>" in page
