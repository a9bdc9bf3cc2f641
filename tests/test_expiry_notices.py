"""`manage.py notify_expiring_api_keys`: one digest per owner of their keys about to expire, with links to the
key pages; each key mentioned once per expiration however often cron runs; owners without email skipped."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from apikeys.access.principals import Principal
from apikeys.models import ApiKey
from apikeys.services import roll_api_key
from tests.conftest import make_user, new_key


def notify(*args: str) -> str:
    out = StringIO()
    call_command("notify_expiring_api_keys", *args, stdout=out)
    return out.getvalue()


def expiring_in(owner, name: str, delta: timedelta) -> ApiKey:
    key = new_key(owner, name).key
    ApiKey.objects.filter(pk=key.pk).update(expiration=timezone.now() + delta)
    return ApiKey.objects.get(pk=key.pk)


@pytest.fixture
def estate(alice, bob, own_keys_role):
    soon = expiring_in(alice, "alice-soon", timedelta(days=3))
    sooner = expiring_in(alice, "alice-sooner", timedelta(hours=5))
    expiring_in(alice, "alice-later", timedelta(days=20))
    new_key(alice, "alice-never")
    gone = expiring_in(alice, "alice-expired", timedelta(days=2))
    ApiKey.objects.filter(pk=gone.pk).update(expiration=timezone.now() - timedelta(minutes=1))
    dead = expiring_in(alice, "alice-invalidated", timedelta(days=1))
    ApiKey.objects.filter(pk=dead.pk).update(invalidated=True, invalidation=timezone.now())
    bobs = expiring_in(bob, "bob-soon", timedelta(days=6))
    carol = make_user("carol", own_keys_role)
    carol.email = ""
    carol.save(update_fields=["email"])
    expiring_in(carol, "carol-soon", timedelta(days=1))
    return {"alice": [sooner, soon], "bob": [bobs]}


def test_each_owner_gets_one_digest_of_their_keys_expiring_soon(estate, settings):
    settings.APIKEYS_CONSOLE_URL = "https://keys.example.com"

    output = notify()

    assert output.strip() == ("Sent 2 digests about 3 API keys; skipped 1 owner without an email address (1 key).")
    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert set(by_recipient) == {"alice@example.com", "bob@example.com"}
    alice_mail = by_recipient["alice@example.com"]
    assert alice_mail.subject == "2 API keys of yours expire within 7 days"
    assert by_recipient["bob@example.com"].subject == "1 API key of yours expires within 7 days"
    lines = alice_mail.body.splitlines()
    for key in estate["alice"]:
        assert f"- {key.name} ({key.id}): expires {key.expiration:%Y-%m-%d %H:%M} UTC, in " in alice_mail.body
        assert f"  https://keys.example.com/api-keys/{key.id}/" in lines
    assert alice_mail.body.index("alice-sooner") < alice_mail.body.index("alice-soon ")  # soonest first
    for absent in ("alice-later", "alice-never", "alice-expired", "alice-invalidated", "bob-soon", "carol"):
        assert absent not in alice_mail.body


def test_a_key_is_mentioned_once_per_window_however_often_cron_runs(estate):
    notify()
    mail.outbox.clear()

    assert notify().startswith("Sent 0 digests about 0 API keys")
    assert mail.outbox == []


def test_a_key_whose_expiration_changes_is_mentioned_again(estate):
    notify()
    mail.outbox.clear()
    key = estate["bob"][0]
    ApiKey.objects.filter(pk=key.pk).update(expiration=key.expiration + timedelta(hours=12))

    notify()

    assert [message.to for message in mail.outbox] == [["bob@example.com"]]
    assert key.id in mail.outbox[0].body


def test_the_window_is_a_choice(estate):
    notify("--days", "1")
    [message] = mail.outbox
    assert message.to == ["alice@example.com"] and "alice-sooner" in message.body and "alice-soon " not in message.body
    assert message.subject == "1 API key of yours expires within 1 day"


def test_a_rolled_key_in_its_grace_period_is_mentioned_with_a_link_to_its_page(alice):
    old = new_key(alice, "rolling")
    successor = roll_api_key(Principal.for_user(alice), old.key.id, {"grace_period": "24h"})

    notify()

    [message] = mail.outbox
    assert f"rolling ({old.key.id})" in message.body and successor.key.id not in message.body


def test_an_owner_who_adds_an_email_address_is_told_then(estate, django_user_model):
    notify()
    mail.outbox.clear()
    django_user_model.objects.filter(username="carol").update(email="carol@example.com")

    notify()

    assert [message.to for message in mail.outbox] == [["carol@example.com"]]


def test_a_digest_that_cannot_be_sent_is_retried_next_run(estate, settings, monkeypatch):
    from django.core.mail import EmailMessage

    real_send = EmailMessage.send

    def failing_for_bob(self, *args, **kwargs):
        if self.to == ["bob@example.com"]:
            raise OSError("mail server refused")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", failing_for_bob)
    with pytest.raises(CommandError, match="1 digest"):
        notify()
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]
    monkeypatch.setattr(EmailMessage, "send", real_send)
    mail.outbox.clear()

    notify()

    assert [message.to for message in mail.outbox] == [["bob@example.com"]]


def test_a_window_below_one_day_is_refused(db):
    with pytest.raises(CommandError, match="--days must be 1 or more"):
        notify("--days", "0")
