import base64
import re

import pytest

from apikeys.domain import keys


def test_it_generates_ids_of_20_url_safe_characters():
    ids = {keys.generate_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{20}", i) for i in ids)


def test_it_generates_secrets_of_22_characters_from_16_random_bytes():
    secret = keys.generate_secret()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", secret)
    assert len(base64.urlsafe_b64decode(secret + "==")) == 16


def test_it_encodes_id_colon_secret_in_standard_base64():
    assert keys.encode("abc", "def") == base64.b64encode(b"abc:def").decode()


def test_it_decodes_what_it_encodes():
    key_id, secret = keys.generate_id(), keys.generate_secret()
    assert keys.decode(keys.encode(key_id, secret)) == (key_id, secret)


def test_it_splits_at_the_first_colon():
    assert keys.decode(base64.b64encode(b"id:se:cret").decode()) == ("id", "se:cret")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not base64!",
        base64.b64encode(b"nocolon").decode(),
        base64.b64encode(b":secret").decode(),
        base64.b64encode(b"id:").decode(),
        base64.b64encode(b"\xff\xfe:x").decode(),
    ],
)
def test_it_rejects_malformed_credentials(value):
    with pytest.raises(keys.MalformedApiKey):
        keys.decode(value)


@pytest.mark.parametrize("algorithm", keys.ALGORITHMS)
def test_it_verifies_the_right_secret_and_refuses_a_wrong_one(algorithm):
    stored = keys.hash_secret("s3cret-value", algorithm)
    assert keys.verify_secret("s3cret-value", stored)
    assert not keys.verify_secret("s3cret-valuf", stored)


def test_ssha256_hashes_are_salted_and_prefixed():
    first, second = keys.hash_secret("same"), keys.hash_secret("same")
    assert first.startswith("{SSHA256}") and first != second
    assert len(base64.b64decode(first[len("{SSHA256}") :])) == 8 + 32


def test_argon2_hashes_are_argon2id():
    assert keys.hash_secret("x", "argon2id").startswith("$argon2id$")


def test_it_never_stores_the_secret_in_the_hash():
    secret = keys.generate_secret()
    for algorithm in keys.ALGORITHMS:
        assert secret not in keys.hash_secret(secret, algorithm)


def test_it_refuses_an_unknown_or_corrupt_stored_hash():
    assert not keys.verify_secret("x", "{MD5}abc")
    assert not keys.verify_secret("x", "{SSHA256}!!notbase64")
    assert not keys.verify_secret("x", "$argon2id$garbage")


def test_it_rejects_an_unknown_algorithm():
    with pytest.raises(ValueError, match="unknown API key hash algorithm"):
        keys.hash_secret("x", "md5")


def test_fingerprints_depend_on_the_salt():
    assert keys.fingerprint("s", "a") == keys.fingerprint("s", "a") != keys.fingerprint("s", "b")
