"""Leak reports (our extension): GitHub's secret scanning partner format, signed with a key pair made here."""

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail

from apikeys.domain import keys
from apikeys.models import ApiKey, AuditEvent
from tests.conftest import apikey_header, basic, new_key

LEAKED = "/_security/api_key/_leaked"
KEY_ID = "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdab9ceb4dfe3aa8d09c5ac1"
REPORTED_AT = "https://github.com/octocat/hello/blob/1a2b3c/config.env"


@pytest.fixture
def scanner(tmp_path, settings):
    """The scanner's private key; its public key published in GitHub's shape, with an older one beside it."""
    private = ec.generate_private_key(ec.SECP256R1())
    older = ec.generate_private_key(ec.SECP256R1())

    def pem(key):
        return (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    published = {
        "public_keys": [
            {"key_identifier": "old", "key": pem(older), "is_current": False},
            {"key_identifier": KEY_ID, "key": pem(private), "is_current": True},
        ]
    }
    path = tmp_path / "secret-scanning-keys.json"
    path.write_text(json.dumps(published))
    settings.APIKEYS_SECRET_SCANNING_KEYS = str(path)
    return private


def sign(private, payload: bytes) -> str:
    return base64.b64encode(private.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()


def report(client, payload: bytes, signature: str | None, key_id: str = KEY_ID):
    headers = {"HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER": key_id}
    if signature is not None:
        headers["HTTP_GITHUB_PUBLIC_KEY_SIGNATURE"] = signature
    return client.generic("POST", LEAKED, payload, content_type="application/json", **headers)


def payload_of(*tokens: str) -> bytes:
    return json.dumps(
        [{"token": t, "type": "apikeys_api_key", "url": REPORTED_AT, "source": "content"} for t in tokens]
    ).encode()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_reported_encoded_key_is_invalidated_marked_audited_and_its_owner_told(client, scanner, alice):
    alice.email = "alice@example.com"
    alice.save()
    created = new_key(alice, "deploy")
    body = payload_of(created.encoded)
    response = report(client, body, sign(scanner, body))
    assert response.status_code == 200
    assert response.json() == [
        {"token_hash": sha256(created.encoded), "token_type": "apikeys_api_key", "label": "true_positive"}
    ]
    key = ApiKey.objects.get(pk=created.key.id)
    assert key.invalidated
    assert key.leaked["url"] == REPORTED_AT
    assert key.leaked["source"] == "content"
    event = AuditEvent.objects.get(action=AuditEvent.Action.LEAK)
    assert event.key_id == key.id
    assert event.details["url"] == REPORTED_AT
    assert event.details["invalidated"] is True
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "deploy" in message.subject
    assert REPORTED_AT in message.body
    assert key.id in message.body
    assert "has been invalidated" in message.body


def test_the_key_answers_its_leak_in_get_and_query(api, client, scanner, alice):
    created = new_key(alice)
    body = payload_of(created.encoded)
    report(client, body, sign(scanner, body))
    [got] = api("GET", "/_security/api_key", basic(alice), id=created.key.id, owner=True).json()["api_keys"]
    assert got["leaked"]["url"] == REPORTED_AT
    assert got["leaked"]["source"] == "content"
    assert isinstance(got["leaked"]["reported"], int)
    [queried] = api("POST", "/_security/_query/api_key", basic(alice), {}).json()["api_keys"]
    assert queried["leaked"] == got["leaked"]


def test_id_colon_secret_and_the_bare_secret_are_matched_too(client, scanner, alice):
    by_pair, bare = new_key(alice, "pair"), new_key(alice, "bare")
    body = payload_of(f"{by_pair.key.id}:{by_pair.secret}", bare.secret)
    labels = [entry["label"] for entry in report(client, body, sign(scanner, body)).json()]
    assert labels == ["true_positive", "true_positive"]
    assert ApiKey.objects.filter(leaked__isnull=False).count() == 2


def test_a_bare_elasticsearch_style_secret_cannot_be_matched(client, scanner, alice, settings):
    settings.APIKEYS_SECRET_FORMAT = "elasticsearch"
    created = new_key(alice)
    body = payload_of(created.secret, created.encoded)
    labels = [entry["label"] for entry in report(client, body, sign(scanner, body)).json()]
    assert labels == ["false_positive", "true_positive"]


def test_notify_leaves_the_key_working_but_marked_and_tells_the_owner(api, client, scanner, alice, settings):
    settings.APIKEYS_LEAK_ACTION = "notify"
    alice.email = "alice@example.com"
    alice.save()
    created = new_key(alice)
    body = payload_of(created.encoded)
    assert report(client, body, sign(scanner, body)).json()[0]["label"] == "true_positive"
    key = ApiKey.objects.get(pk=created.key.id)
    assert not key.invalidated
    assert key.leaked["url"] == REPORTED_AT
    assert api("GET", "/_security/_authenticate", apikey_header(created.encoded)).status_code == 200
    assert "still works" in mail.outbox[0].body


def test_a_replayed_report_changes_nothing_twice(client, scanner, alice, settings):
    settings.APIKEYS_LEAK_ACTION = "notify"
    alice.email = "alice@example.com"
    alice.save()
    created = new_key(alice)
    body = payload_of(created.encoded)
    first = report(client, body, sign(scanner, body)).json()
    leaked = ApiKey.objects.get(pk=created.key.id).leaked
    again = report(client, body, sign(scanner, body)).json()
    assert again == first
    assert ApiKey.objects.get(pk=created.key.id).leaked == leaked
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LEAK).count() == 1
    assert len(mail.outbox) == 1


def test_unknown_tokens_are_false_positives_and_reveal_nothing_more(client, scanner, alice):
    created = new_key(alice)
    unknown_id = keys.encode(keys.generate_id(), keys.generate_secret())
    wrong_secret = keys.encode(created.key.id, keys.generate_secret())
    bad_checksum = created.secret[:-1] + ("0" if created.secret[-1] != "0" else "1")
    tokens = [created.encoded, unknown_id, wrong_secret, bad_checksum, "not a token"]
    body = payload_of(*tokens)
    answer = report(client, body, sign(scanner, body)).json()
    assert [entry["label"] for entry in answer] == ["true_positive"] + ["false_positive"] * 4
    assert all(set(entry) == {"token_hash", "token_type", "label"} for entry in answer)
    assert [entry["token_hash"] for entry in answer] == [sha256(t) for t in tokens]
    assert ApiKey.objects.filter(leaked__isnull=False).count() == 1


def test_an_invalidated_key_is_a_true_positive_and_left_as_it_is(client, scanner, alice):
    created = new_key(alice)
    ApiKey.objects.filter(pk=created.key.id).update(invalidated=True)
    body = payload_of(created.encoded)
    assert report(client, body, sign(scanner, body)).json()[0]["label"] == "true_positive"
    assert ApiKey.objects.get(pk=created.key.id).leaked is None
    assert not mail.outbox


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda private, body, other: (body, None, KEY_ID), id="no signature"),
        pytest.param(lambda private, body, other: (body, sign(private, body), "unknown-key"), id="unknown key id"),
        pytest.param(lambda private, body, other: (body, sign(private, body), "old"), id="another key's id"),
        pytest.param(lambda private, body, other: (body, sign(other, body), KEY_ID), id="signed by another key"),
        pytest.param(lambda private, body, other: (body + b" ", sign(private, body), KEY_ID), id="tampered body"),
        pytest.param(lambda private, body, other: (body, "not base64!", KEY_ID), id="garbled signature"),
    ],
)
def test_a_report_whose_signature_does_not_hold_is_refused_and_changes_nothing(client, scanner, alice, tamper):
    created = new_key(alice)
    other = ec.generate_private_key(ec.SECP256R1())
    body, signature, key_id = tamper(scanner, payload_of(created.encoded), other)
    response = report(client, body, signature, key_id)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "security_exception"
    key = ApiKey.objects.get(pk=created.key.id)
    assert not key.invalidated and key.leaked is None
    assert not mail.outbox


def test_without_published_keys_every_report_is_refused(client, scanner, alice, settings):
    settings.APIKEYS_SECRET_SCANNING_KEYS = ""
    created = new_key(alice)
    body = payload_of(created.encoded)
    assert report(client, body, sign(scanner, body)).status_code == 401


def test_a_signed_report_that_is_not_an_array_of_reports_is_a_400(client, scanner):
    for body in (b"{}", b"[]", b'[{"token": 1}]', b"not json"):
        assert report(client, body, sign(scanner, body)).status_code == 400


def test_the_leak_endpoint_takes_only_post(client, scanner):
    assert client.get(LEAKED).status_code == 405
