"""The console list's read model: each owner's number of keys is kept by the database, whichever way keys are
written or removed."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.infra import triggers
from apikeys.models import ApiKey
from apikeys.readmodels.listing import owner_counts, username_counts
from tests.conftest import make_keys, new_key


def counts_agree() -> list[tuple[str, int]]:
    kept = owner_counts()
    assert kept == username_counts(ApiKey.objects.all())
    return kept


def test_owner_counts_follow_every_way_of_writing_keys(alice, bob, admin):
    new_key(alice, "one")
    make_keys(bob, 5, id_prefix="b")  # the ORM's bulk insert
    assert counts_agree() == [("alice", 1), ("bob", 5)]

    services.invalidate_api_keys(Principal.for_user(admin), {"ids": ["b0000000000000000000"]})
    assert counts_agree() == [("alice", 1), ("bob", 5)]  # invalidated keys are still listed, and counted

    ApiKey.objects.filter(pk="b0000000000000000000").update(invalidation=timezone.now() - timedelta(days=30))
    services.purge_api_keys()
    assert counts_agree() == [("alice", 1), ("bob", 4)]

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM apikeys_apikey WHERE id = %s", ["b0000000000000000001"])
    assert counts_agree() == [("alice", 1), ("bob", 3)]

    bob.delete()  # the cascade removes his keys
    assert counts_agree() == [("alice", 1)]


def test_a_key_moved_to_another_username_moves_its_count(alice, bob):
    key = new_key(alice).key
    ApiKey.objects.filter(pk=key.pk).update(username="bob")
    assert counts_agree() == [("bob", 1)]


def test_the_list_shows_the_kept_counts_beside_each_owner(client, admin, alice, bob):
    make_keys(alice, 3, id_prefix="a")
    make_keys(bob, 2, id_prefix="b")
    client.force_login(admin)
    owners = client.get("/api-keys/").context["counts"]["owners"]
    assert owners == [("alice", 3), ("bob", 2)]


def test_triggers_lost_to_a_table_rebuild_are_made_again_and_the_counts_recounted(alice):
    new_key(alice, "one")
    with connection.cursor() as cursor:  # what SQLite does to triggers when a migration rebuilds the table
        for name in triggers.SQLITE if connection.vendor == "sqlite" else triggers.POSTGRESQL:
            cursor.execute(f"DROP TRIGGER {name}" + (" ON apikeys_apikey" if connection.vendor == "postgresql" else ""))
    make_keys(alice, 2, id_prefix="a")  # not counted: no trigger
    assert owner_counts() == [("alice", 1)]
    assert triggers.ensure_owner_counts() is True
    assert counts_agree() == [("alice", 3)]
    new_key(alice, "four")
    assert counts_agree() == [("alice", 4)]
    assert triggers.ensure_owner_counts() is False


def test_expiring_soon_is_counted_and_filtered_the_same_with_and_without_a_search(alice, settings):
    from apikeys.domain.key_rules import expiring_soon
    from apikeys.readmodels.listing import KeyFilters, KeyListing

    settings.APIKEYS_EXPIRING_SOON_DAYS = 5
    now = timezone.now()
    for name, delta in [
        ("soon-a", timedelta(days=1)),
        ("soon-b", timedelta(days=4, hours=23)),
        ("later", timedelta(days=5, hours=1)),
        ("gone", timedelta(hours=-1)),
    ]:
        key = new_key(alice, name).key
        ApiKey.objects.filter(pk=key.pk).update(expiration=now + delta)
    new_key(alice, "never")
    dead = new_key(alice, "soon-dead").key
    ApiKey.objects.filter(pk=dead.pk).update(expiration=now + timedelta(days=1), invalidated=True)
    principal = Principal.for_user(alice)

    plain = KeyListing(principal, KeyFilters(status="expiring"), "name", 1, 25)
    searched = KeyListing(principal, KeyFilters(q="soon", status="expiring"), "name", 1, 25)

    assert [k.name for k in plain.page_keys()] == ["soon-a", "soon-b"]
    assert plain.counts["expiring"] == plain.total == 2
    assert searched.counts["expiring"] == searched.total == 2
    rule = expiring_soon()
    assert sorted(k.name for k in ApiKey.objects.all() if rule.holds(k, timezone.now())) == ["soon-a", "soon-b"]
    assert sorted(ApiKey.objects.filter(rule.q(timezone.now())).values_list("name", flat=True)) == ["soon-a", "soon-b"]
