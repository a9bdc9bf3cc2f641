import base64
import re

import pytest

from apikeys.domain import keys


def test_it_generates_ids_of_20_url_safe_characters():
    ids = {keys.generate_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{20}", i) for i in ids)


def test_elasticsearch_style_secrets_are_22_characters_from_16_random_bytes():
    secret = keys.generate_secret("elasticsearch")
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", secret)
    assert len(base64.urlsafe_b64decode(secret + "==")) == 16
    assert not keys.fails_checksum(secret)
    assert not keys.is_recognisable(secret)


def test_new_secrets_and_their_encoded_forms_match_the_published_patterns():
    for _ in range(500):
        secret = keys.generate_secret()
        assert keys.SECRET_PATTERN.fullmatch(secret)
        assert keys.ENCODED_PATTERN.fullmatch(keys.encode(keys.generate_id(), secret))
        assert keys.is_recognisable(secret)


def test_the_prefix_shows_as_a_fixed_run_at_a_fixed_place_of_the_encoded_form():
    encoded = {keys.encode(keys.generate_id(), keys.generate_secret()) for _ in range(50)}
    assert {value[27:36] for value in encoded} == {"6ZXNrZXlf"}


def test_a_recognisable_secret_holds_128_random_bits():
    secrets_made = {keys.generate_secret()[len(keys.SECRET_PREFIX) : -keys.CHECKSUM_CHARS] for _ in range(1000)}
    assert len(secrets_made) == 1000
    assert all(len(s) == keys.RANDOM_CHARS for s in secrets_made)
    assert 62**keys.RANDOM_CHARS > 2**128


@pytest.mark.parametrize("position", [0, 5, 6, 20, 27, 33])
def test_any_one_character_changed_fails_the_checksum(position):
    secret = keys.generate_secret()
    for replacement in "0aZ_":
        if replacement != secret[position]:
            changed = secret[:position] + replacement + secret[position + 1 :]
            assert keys.fails_checksum(changed) or not changed.startswith(keys.SECRET_PREFIX)


def test_a_truncated_or_lengthened_secret_fails_the_checksum():
    secret = keys.generate_secret()
    assert keys.fails_checksum(secret[:-1])
    assert keys.fails_checksum(secret + "0")


def test_the_digest_of_a_secret_is_its_unsalted_sha256():
    assert keys.digest("eskey_x") == keys.digest("eskey_x")
    assert len(keys.digest("eskey_x")) == 64


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
