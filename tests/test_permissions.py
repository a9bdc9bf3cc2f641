"""Who may do what with a key, asked of every surface at once: for each caller, key and state, the console's
offer (a Delete link and checkbox, an update form, a Roll button, the key page), the console's answer to a
request made anyway, and the API's answer all agree with `access.permissions`, and its queryset faces hold
exactly the keys its refusals allow."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apikeys.access import permissions
from apikeys.access.principals import Principal
from apikeys.models import ApiKey, KeyType, User
from apikeys.services import create_cross_cluster_api_key
from tests.conftest import OWN_KEYS_ROLE, basic, make_role, make_user, new_key

CALLERS = {
    "owner of own keys": {"cluster": ["manage_own_api_key"]},
    "manager of every key": {"cluster": ["manage_api_key"]},
    "reader of every key": {"cluster": ["read_security"]},
    "security administrator": {"cluster": ["manage_security", "manage_api_key"]},
    "nobody": {"cluster": []},
}
KINDS = ["own rest", "other's rest", "own cross-cluster", "other's cross-cluster"]
STATES = ["active", "expired", "invalidated"]
ACCESS = {"search": [{"names": ["logs-*"]}]}


def a_key(kind: str, state: str, caller: User, other: User, maker: User) -> ApiKey:
    """A key of `kind` in `state`, made by `maker` (who may make either type) and handed to its owner."""
    principal = Principal.for_user(maker)
    if kind.endswith("cross-cluster"):
        key = create_cross_cluster_api_key(principal, {"name": "remote", "access": ACCESS}).key
    else:
        key = new_key(maker, "personal").key
    owner = caller if kind.startswith("own") else other
    changes: dict = {"owner": owner, "username": owner.username}
    if state == "expired":
        changes["expiration"] = timezone.now() - timedelta(minutes=1)
    if state == "invalidated":
        changes.update(invalidated=True, invalidation=timezone.now())
    ApiKey.objects.filter(pk=key.pk).update(**changes)
    return ApiKey.objects.get(pk=key.pk)


@pytest.fixture
def world(db):
    """Every caller, another owner (bob) and a maker of keys (a superuser)."""
    users = {
        name: make_user(name.replace(" ", "-"), make_role(f"role-{i}", role))
        for i, (name, role) in enumerate(CALLERS.items())
    }
    return users, make_user("bob", make_role("bob-role", OWN_KEYS_ROLE)), make_user("maker", superuser=True)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def list_row(client: Client, key: ApiKey, state: str) -> str:
    """The key's row in the list filtered to its state ("" when the list does not show it)."""
    page = client.get("/api-keys/", {"status": state, "per_page": 100}).content.decode()
    rows = [row for row in re.findall(r"<tr>.*?</tr>", page, re.S) if f"/api-keys/{key.id}/" in row]
    return rows[0] if rows else ""


def api(client: Client, method: str, path: str, user: User, body: dict | None = None):
    return client.generic(
        method, path, json.dumps(body) if body is not None else "", "application/json", HTTP_AUTHORIZATION=basic(user)
    )


def update_path(key: ApiKey) -> str:
    if key.type == KeyType.CROSS_CLUSTER:
        return f"/_security/cross_cluster/api_key/{key.id}"
    return f"/_security/api_key/{key.id}"


def update_form(key: ApiKey) -> dict[str, str]:
    form = {"metadata": json.dumps({"changed": True})}
    if key.type == KeyType.CROSS_CLUSTER:
        return {**form, "access": json.dumps(ACCESS)}
    return {**form, "role_descriptors": "{}"}


def delete_surfaces(caller: User, key: ApiKey, state: str) -> tuple[bool, bool, bool]:
    row = list_row(signed_in(caller), key, state)
    has_link, has_checkbox = ">Delete</a>" in row, f'name="id" value="{key.id}"' in row
    assert has_link == has_checkbox, "the Delete link and the checkbox are offered together"
    signed_in(caller).post("/api-keys/delete/", {"id": key.id})
    after = ApiKey.objects.get(pk=key.pk)
    console = after.invalidated and after.invalidation != key.invalidation
    ApiKey.objects.filter(pk=key.pk).update(invalidated=key.invalidated, invalidation=key.invalidation)
    body = {"ids": [key.id], "owner": True} if key.owner_id == caller.pk else {"ids": [key.id]}
    answer = api(Client(), "DELETE", "/_security/api_key", caller, body)
    api_done = answer.status_code == 200 and answer.json()["invalidated_api_keys"] == [key.id]
    return has_link, console, api_done


def update_surfaces(caller: User, key: ApiKey, state: str) -> tuple[bool, bool, bool]:
    page = signed_in(caller).get(f"/api-keys/{key.id}/")
    offered = page.status_code == 200 and page.context["read_only_reason"] is None
    answer = signed_in(caller).post(f"/api-keys/{key.id}/", update_form(key))
    console = answer.status_code == 302 and ApiKey.objects.get(pk=key.pk).metadata == {"changed": True}
    ApiKey.objects.filter(pk=key.pk).update(metadata=key.metadata)
    body = {"metadata": {"changed": True}} | ({"access": ACCESS} if key.type == KeyType.CROSS_CLUSTER else {})
    response = api(Client(), "PUT", update_path(key), caller, body)
    api_done = response.status_code == 200 and response.json()["updated"] is True
    return offered, console, api_done


def roll_surfaces(caller: User, key: ApiKey, state: str) -> tuple[bool, bool, bool]:
    page = signed_in(caller).get(f"/api-keys/{key.id}/")
    offered = page.status_code == 200 and page.context["can_roll"]
    signed_in(caller).post(f"/api-keys/{key.id}/roll/", {"grace_period": "1h"})
    rolled = ApiKey.objects.get(pk=key.pk).rolled_to
    console = rolled is not None
    if rolled:
        ApiKey.objects.filter(pk=rolled).delete()
        ApiKey.objects.filter(pk=key.pk).update(rolled_to=None, expiration=key.expiration)
    response = api(Client(), "POST", f"/_security/api_key/{key.id}/_roll", caller, {"grace_period": "1h"})
    return offered, console, response.status_code == 200


def see_surfaces(caller: User, key: ApiKey, state: str) -> tuple[bool, bool, bool]:
    offered = bool(list_row(signed_in(caller), key, state))
    console = signed_in(caller).get(f"/api-keys/{key.id}/").status_code == 200
    own = "&owner=true" if key.owner_id == caller.pk else ""  # how `manage_own_api_key` asks, in Elasticsearch
    got = api(Client(), "GET", f"/_security/api_key?id={key.id}{own}", caller)
    usage = api(Client(), "GET", f"/_security/api_key/{key.id}/_usage", caller)
    assert (got.status_code == 200) == (usage.status_code == 200), "whoever sees a key sees its usage"
    return offered, console, got.status_code == 200 and [k["id"] for k in got.json()["api_keys"]] == [key.id]


ACTIONS = {
    "delete": (delete_surfaces, permissions.delete_refusal, permissions.deletable_keys),
    "update": (update_surfaces, permissions.update_refusal, None),
    "roll": (roll_surfaces, permissions.roll_refusal, None),
    "see": (see_surfaces, permissions.see_refusal, permissions.visible_keys),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("caller_kind", CALLERS)
def test_the_console_offer_the_console_answer_and_the_api_answer_agree(world, caller_kind, kind, state, action):
    users, other, maker = world
    caller = users[caller_kind]
    key = a_key(kind, state, caller, other, maker)
    surfaces, refusal_of, queryset_face = ACTIONS[action]
    allowed = refusal_of(Principal.for_user(caller), key) is None
    if queryset_face is not None:
        keys = queryset_face(Principal.for_user(caller))
        assert (keys is not None and keys.filter(pk=key.pk).exists()) == allowed

    offered, console, api_done = surfaces(caller, key, state)

    assert (offered, console, api_done) == (allowed, allowed, allowed)


@pytest.mark.parametrize(
    ("caller_kind", "kind", "state", "action", "allowed"),
    [
        ("manager of every key", "other's cross-cluster", "active", "delete", False),
        ("security administrator", "other's cross-cluster", "active", "delete", True),
        ("manager of every key", "other's rest", "expired", "delete", True),
        ("owner of own keys", "other's rest", "active", "delete", False),
        ("owner of own keys", "own rest", "active", "update", True),
        ("owner of own keys", "own rest", "expired", "roll", False),
        ("reader of every key", "other's rest", "invalidated", "see", True),
        ("nobody", "own rest", "active", "see", False),
    ],
)
def test_the_rules_say_what_elasticsearch_says(world, caller_kind, kind, state, action, allowed):
    users, other, maker = world
    key = a_key(kind, state, users[caller_kind], other, maker)
    refusal_of = ACTIONS[action][1]
    assert (refusal_of(Principal.for_user(users[caller_kind]), key) is None) is allowed
