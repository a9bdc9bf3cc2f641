"""What a key's status means is written once (`apikeys.domain.key_rules.STATUS_RULES`): change it there, and the list,
its counts, the API and the key page all follow."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apikeys.domain.key_rules import ExpirationPassed, Invalidated, KeyStatus
from apikeys.models import ApiKey
from tests.conftest import basic, new_key

# Another meaning: a key that was invalidated and has since expired counts as expired, not invalidated.
EXPIRY_FIRST = {
    KeyStatus.ACTIVE: (Invalidated(False), ExpirationPassed(False)),
    KeyStatus.EXPIRED: (ExpirationPassed(True),),
    KeyStatus.INVALIDATED: (Invalidated(True), ExpirationPassed(False)),
}


@pytest.fixture
def estate(alice) -> dict[str, str]:
    """One key in each state, and one that is both invalidated and past its expiration (name -> id)."""
    past = timezone.now() - timedelta(hours=1)
    keys = {name: new_key(alice, name).key.id for name in ("live", "lapsed", "revoked", "revoked-lapsed")}
    ApiKey.objects.filter(pk__in=[keys["lapsed"], keys["revoked-lapsed"]]).update(expiration=past)
    ApiKey.objects.filter(pk__in=[keys["revoked"], keys["revoked-lapsed"]]).update(
        invalidated=True, invalidation=timezone.now()
    )
    return keys


def listed(client: Client, **params: str) -> tuple[set[str], dict]:
    response = client.get("/api-keys/", params)
    return {key.name for key in response.context["table"].keys}, response.context["counts"]


def statuses(client: Client, alice, estate: dict[str, str]) -> dict:
    """Everything that shows a status, for the key that is both invalidated and expired."""
    names, counts = listed(client)
    both = estate["revoked-lapsed"]
    update = client.put(f"/_security/api_key/{both}", "{}", "application/json", HTTP_AUTHORIZATION=basic(alice)).json()
    active_only = client.get(
        "/_security/api_key", {"active_only": "true", "owner": "true"}, HTTP_AUTHORIZATION=basic(alice)
    ).json()
    page = client.get(f"/api-keys/{both}/")
    return {
        "model": ApiKey.objects.get(pk=both).status(),
        "expired filter": listed(client, status="expired")[0],
        "invalidated filter": listed(client, status="invalidated")[0],
        "default view": names,
        "counts": {status: counts[status] for status in ("active", "expired", "invalidated")},
        "searched counts": {
            status: listed(client, q="alice")[1][status] for status in ("active", "expired", "invalidated")
        },
        "api update refusal": update["error"]["reason"],
        "api active_only": {key["name"] for key in active_only["api_keys"]},
        "key page status": page.context["status_label"],
        "key page reason": page.context["read_only_reason"],
    }


def test_every_surface_reads_the_status_rules(alice, estate):
    client = Client()
    client.force_login(alice)
    assert statuses(client, alice, estate) == {
        "model": KeyStatus.INVALIDATED,
        "expired filter": {"lapsed"},
        "invalidated filter": {"revoked", "revoked-lapsed"},
        "default view": {"live", "lapsed"},
        "counts": {"active": 1, "expired": 1, "invalidated": 2},
        "searched counts": {"active": 1, "expired": 1, "invalidated": 2},
        "api update refusal": f"cannot update invalidated API key [{estate['revoked-lapsed']}]",
        "api active_only": {"live"},
        "key page status": "Invalidated",
        "key page reason": "This API key has been deleted. You can no longer update it.",
    }


def test_changing_what_expired_means_in_one_place_changes_it_everywhere(alice, estate, monkeypatch):
    monkeypatch.setattr("apikeys.domain.key_rules.STATUS_RULES", EXPIRY_FIRST)
    client = Client()
    client.force_login(alice)
    assert statuses(client, alice, estate) == {
        "model": KeyStatus.EXPIRED,
        "expired filter": {"lapsed", "revoked-lapsed"},
        "invalidated filter": {"revoked"},
        "default view": {"live", "lapsed", "revoked-lapsed"},
        "counts": {"active": 1, "expired": 2, "invalidated": 1},
        "searched counts": {"active": 1, "expired": 2, "invalidated": 1},
        "api update refusal": f"cannot update expired API key [{estate['revoked-lapsed']}]",
        "api active_only": {"live"},
        "key page status": "Expired",
        "key page reason": "This API key has expired. You can no longer update it.",
    }


def test_the_rules_put_every_key_in_exactly_one_status(estate):
    now = timezone.now()
    for key in ApiKey.objects.all():
        assert [status for status in KeyStatus if status.holds(key, now)] == [key.status(now)]
        assert [status for status in KeyStatus if ApiKey.objects.with_status(status, now).filter(pk=key.pk)] == [
            key.status(now)
        ]
