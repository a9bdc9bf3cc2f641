"""The audit webhook: an outbox row written in the transaction of each event, sent in batches, in order, signed,
retried with backoff while the receiver is down or answers 5xx, forgotten once taken. (Across killed gunicorn
workers: tests/faults/test_operations.py.)"""

from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client

from apikeys.models import AuditEvent, AuditOutbox
from apikeys.records import audit, audit_delivery
from tests.conftest import basic, new_key
from tests.faults.servers import WebhookReceiver

SECRET = "webhook-secret-" + "w" * 20


@pytest.fixture
def receiver(settings, monkeypatch):
    # The sender closes its old connections between batches, as a request does; here that connection holds the
    # test's transaction.
    monkeypatch.setattr(audit_delivery, "close_old_connections", lambda: None)
    server = WebhookReceiver(SECRET)
    server.up()
    settings.APIKEYS_AUDIT_WEBHOOK_URL = server.url
    settings.APIKEYS_AUDIT_WEBHOOK_SECRET = SECRET
    settings.APIKEYS_AUDIT_WEBHOOK_RETRY_SECONDS = 0.01
    yield server
    server.release()
    server.down()


def event_ids() -> list[int]:
    return list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


def waiting() -> list[int]:
    return list(AuditOutbox.objects.order_by("event_id").values_list("event_id", flat=True))


class CountedStop(threading.Event):
    """A stop event that records how long the sender chose to wait, and is set after `failures` waits."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if len(self.waits) >= self.failures:
            self.set()
        return self.is_set()


# --- The outbox ------------------------------------------------------------------------------------------------


def test_nothing_is_queued_without_a_webhook(api, alice):
    api("POST", "/_security/api_key", basic(alice), {"name": "k"})
    assert AuditEvent.objects.count() == 1 and waiting() == []


def test_each_event_is_queued_in_its_own_transaction(receiver, api, alice, admin):
    created = api("POST", "/_security/api_key", basic(alice), {"name": "k"}).json()
    api("DELETE", "/_security/api_key", basic(alice), {"ids": [created["id"]], "owner": True})
    api("PUT", "/_security/role/readers", basic(admin), {"cluster": ["monitor"]})
    api("GET", "/_security/_authenticate", basic(alice, "wrong"))
    assert len(event_ids()) == 4
    assert waiting() == event_ids()


def test_many_events_written_at_once_are_queued_too(receiver, api, alice):
    ids = [new_key(alice, f"k{i}").key.id for i in range(3)]
    api("DELETE", "/_security/api_key", basic(alice), {"ids": ids, "owner": True})
    assert waiting() == event_ids() and len(waiting()) == 6


def test_a_change_rolled_back_leaves_neither_its_event_nor_its_outbox_row(receiver, db):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(audit.Action.ROLE_CHANGE, "admin", target="readers")
        raise RuntimeError("the change failed after its event was written")
    assert event_ids() == [] and waiting() == []


# --- The sender -------------------------------------------------------------------------------------------------


def test_the_sender_sends_every_event_in_order_in_signed_batches(receiver, alice, settings):
    settings.APIKEYS_AUDIT_WEBHOOK_BATCH = 2
    for i in range(5):
        new_key(alice, f"k{i}")
    assert audit_delivery.run(threading.Event(), once=True) == 5
    assert receiver.statuses == [200, 200, 200]
    assert receiver.bad_signatures == 0
    assert [event["id"] for event in receiver.taken] == event_ids()
    first = receiver.taken[0]
    assert set(first) == set(audit.DOCUMENT_FIELDS)
    assert (first["action"], first["actor"], first["target"]) == ("create", "alice", "k0")
    assert waiting() == []


def test_a_receiver_answering_5xx_gets_the_same_batch_again_until_it_takes_it(receiver, alice):
    new_key(alice)
    receiver.answers.extend([503, 502, 500])
    stop = threading.Event()

    def stop_once_taken(server: WebhookReceiver) -> bool:
        return bool(server.taken)

    threading.Thread(target=lambda: (receiver.wait_for(stop_once_taken, 10, "the batch"), stop.set())).start()
    audit_delivery.run(stop)
    assert receiver.statuses == [503, 502, 500, 200]
    assert receiver.unique_ids() == event_ids() and waiting() == []


def test_while_the_receiver_is_down_events_wait_and_the_sender_backs_off_doubling(receiver, alice):
    new_key(alice)
    receiver.down()
    stop = CountedStop(failures=4)
    assert audit_delivery.run(stop) == 0
    assert stop.waits == [0.01, 0.02, 0.04, 0.08]
    assert waiting() == event_ids()
    receiver.up()
    assert audit_delivery.run(threading.Event(), once=True) == 1 and waiting() == []


def test_the_backoff_stops_doubling_at_five_minutes(receiver, alice, settings):
    settings.APIKEYS_AUDIT_WEBHOOK_RETRY_SECONDS = 100
    new_key(alice)
    receiver.down()
    stop = CountedStop(failures=4)
    audit_delivery.run(stop)
    assert stop.waits == [100, 200, 300, 300]


def test_a_redirect_is_a_failure_not_a_delivery(receiver, alice):
    new_key(alice)
    receiver.answers.append(302)
    with pytest.raises(audit_delivery.DeliveryFailed, match="answered 302"):
        audit_delivery.run(threading.Event(), once=True)
    assert waiting() == event_ids()


def test_one_sender_at_a_time(receiver, alice):
    new_key(alice)
    with audit_delivery._one_sender() as mine:
        assert mine
        other = threading.Thread(target=lambda: results.append(_deliver_elsewhere()))
        results: list = []
        other.start()
        other.join(10)
    assert results == [None]  # the other sender stood aside
    assert receiver.statuses == []


def _deliver_elsewhere():
    try:
        with audit_delivery._one_sender() as mine:
            return mine or None
    finally:
        connection.close()  # this thread's own


# --- The command and the page --------------------------------------------------------------------------------


def test_the_command_sends_what_waits_once(receiver, alice, capsys):
    new_key(alice, "a")
    new_key(alice, "b")
    call_command("deliver_audit_events", "--once")
    assert capsys.readouterr().out == "Sent 2 audit events.\n"
    assert len(receiver.taken) == 2


def test_the_command_fails_when_the_receiver_does_not_take_the_events(receiver, alice):
    new_key(alice)
    receiver.down()
    with pytest.raises(CommandError, match="not delivered: the receiver did not answer"):
        call_command("deliver_audit_events", "--once")
    assert waiting() == event_ids()


def test_the_command_refuses_to_run_without_a_webhook(db):
    with pytest.raises(CommandError, match="APIKEYS_AUDIT_WEBHOOK_URL is not set"):
        call_command("deliver_audit_events", "--once")


def test_the_command_shows_the_backlog(receiver, alice, capsys):
    call_command("deliver_audit_events", "--status")
    assert capsys.readouterr().out == "0 audit events waiting to be sent.\n"
    new_key(alice)
    new_key(alice)
    call_command("deliver_audit_events", "--status")
    assert capsys.readouterr().out.startswith("2 audit events waiting to be sent; the oldest happened at 20")


def test_the_audit_page_shows_the_backlog(receiver, admin, alice):
    browser = Client()
    browser.force_login(admin)
    assert "Webhook: every event has been sent." in browser.get("/audit/").content.decode()
    new_key(alice)
    assert "Webhook: 1 event waiting to be sent, the oldest from" in browser.get("/audit/").content.decode()


def test_the_audit_page_says_nothing_of_a_webhook_when_there_is_none(admin):
    browser = Client()
    browser.force_login(admin)
    assert "Webhook" not in browser.get("/audit/").content.decode()
