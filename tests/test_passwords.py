"""Elasticsearch's password hashes, as `password_hash` gives them: which are accepted, and that a stored one
verifies the password it was made from (and no other) through Django's `check_password`."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.contrib.auth.hashers import check_password

from apikeys.domain import passwords

# A hash made by Elasticsearch itself: a service token's, in its own tests (the token's secret is the password).
ELASTICSEARCH_STRETCH_HASH = (
    "{PBKDF2_STRETCH}10000$8QN+eThJEaCd18sCP0nfzxJq2D9yhmSZgI20TDooYcE=$+0ELfqW4D2+/SlHvm/885dzv67qO2SMJg32Mv/9epXk="
)
ELASTICSEARCH_STRETCH_SECRET = "r5wdbdboQSe9vGOKwaJGAw"
SALT = base64.b64encode(b"0123456789abcdef").decode()


def pbkdf2_hash(
    password: str, cost: int = 10000, salt: str = SALT, stretched: bool = False, key_bytes: int = 32
) -> str:
    """An Elasticsearch-format hash, made the way its documentation describes PBKDF2 with HMAC-SHA512."""
    secret = hashlib.sha512(password.encode()).hexdigest().encode() if stretched else password.encode()
    key = hashlib.pbkdf2_hmac("sha512", secret, base64.b64decode(salt), cost, key_bytes)
    prefix = "{PBKDF2_STRETCH}" if stretched else "{PBKDF2}"
    return f"{prefix}{cost}${salt}${base64.b64encode(key).decode()}"


@pytest.fixture
def with_elasticsearch_hasher(settings):
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, "apikeys.domain.passwords.ElasticsearchPbkdf2Hasher"]


def test_a_hash_made_by_elasticsearch_verifies_its_password():
    parsed = passwords.parse_hash(ELASTICSEARCH_STRETCH_HASH)
    assert parsed.stretched and parsed.iterations == 10000
    assert parsed.matches(ELASTICSEARCH_STRETCH_SECRET)
    assert not parsed.matches(ELASTICSEARCH_STRETCH_SECRET + "x")


@pytest.mark.parametrize("stretched", [False, True])
@pytest.mark.parametrize("cost", [1000, 50000])
def test_every_cost_of_both_families_verifies(stretched, cost):
    parsed = passwords.parse_hash(pbkdf2_hash("s3cret-pass", cost, stretched=stretched))
    assert parsed.matches("s3cret-pass") and not parsed.matches("other-pass")


def test_a_longer_derived_key_is_compared_at_its_own_length():
    assert passwords.parse_hash(pbkdf2_hash("s3cret-pass", key_bytes=64)).matches("s3cret-pass")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", passwords.NOT_A_HASH),
        ("plain text", passwords.NOT_A_HASH),
        ("{SSHA256}abc", passwords.NOT_A_HASH),
        ("{PBKDF2}ten$salt$hash", "The number of iterations could not be determined from the provided PBKDF2 hash."),
        ("{PBKDF2}10000", "The number of iterations could not be determined from the provided PBKDF2 hash."),
        (pbkdf2_hash("x" * 8, cost=1234), "unknown hash function [pbkdf2_1234]"),
        ("{PBKDF2_STRETCH}777$a$b", "unknown hash function [pbkdf2_stretch_777]"),
        ("{PBKDF2}10000$not base64!$AAAA", passwords.NOT_A_HASH),
        (pbkdf2_hash("x" * 8, salt=base64.b64encode(b"short").decode()), passwords.NOT_A_HASH),
        (pbkdf2_hash("x" * 8)[:-8], passwords.NOT_A_HASH),
        (pbkdf2_hash("x" * 8).rsplit("$", 1)[0], passwords.NOT_A_HASH),
    ],
)
def test_anything_but_a_verifiable_pbkdf2_hash_is_refused_in_elasticsearchs_words(text, reason):
    with pytest.raises(passwords.UnsupportedHash) as refused:
        passwords.parse_hash(text)
    assert str(refused.value) == reason


def test_the_refusal_names_the_algorithms_as_elasticsearch_lists_them():
    names = passwords.algorithm_names()
    assert names[:3] == ["pbkdf2", "pbkdf2_1000", "pbkdf2_10000"]
    assert names[7:9] == ["pbkdf2_stretch", "pbkdf2_stretch_1000"] and len(names) == 14
    assert passwords.NOT_A_HASH.endswith(f"[{', '.join(names)}]")


def test_django_checks_a_stored_hash_with_the_elasticsearch_hasher(with_elasticsearch_hasher):
    stored = passwords.stored_form(ELASTICSEARCH_STRETCH_HASH)
    assert check_password(ELASTICSEARCH_STRETCH_SECRET, stored)
    assert not check_password("wrong-secret", stored)
    summary = passwords.ElasticsearchPbkdf2Hasher().safe_summary(stored)
    assert summary["iterations"] == 10000 and summary["hash"].startswith("+0ELfq") and "*" in summary["hash"]


def test_a_correct_password_is_rehashed_with_the_preferred_hasher(with_elasticsearch_hasher):
    stored = passwords.stored_form(pbkdf2_hash("s3cret-pass"))
    rehashed = []
    assert check_password("s3cret-pass", stored, setter=rehashed.append)
    assert rehashed == ["s3cret-pass"]
