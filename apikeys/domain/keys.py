"""API key secrets: generation, the `encoded` form, salted hashing and constant-time verification.

New secrets are recognisable, as GitHub's tokens are: a fixed prefix, 128 random bits and a CRC32 checksum,
all in base62 (`SECRET_PATTERN`), so a secret scanner can find them and a typo is refused without a lookup.
The prefix is six characters, two whole base64 groups, and `<20-char id>:` fills exactly seven, so in the
`encoded` form the prefix is always the same eight characters at the same place (`ENCODED_PATTERN`).
Elasticsearch-style secrets (22 characters of base64url, `SECRET_FORMATS[1]`) can still be issued, and every
existing secret keeps verifying.

Pure functions, no Django models. Two hash formats coexist, told apart by their prefix:
`{SSHA256}` (8-byte salt + SHA-256(secret + salt), base64; the default: secrets are 128 random bits, so a
fast hash is safe, as Elasticsearch decided in 2025) and `$argon2id$` (argon2-cffi).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import zlib
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SSHA256_PREFIX = "{SSHA256}"
ARGON2_PREFIX = "$argon2id$"
ALGORITHMS = ("ssha256", "argon2id")
ID_BYTES = 15
SECRET_BYTES = 16
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{20}")
SECRET_FORMATS = ("prefixed", "elasticsearch")
SECRET_PREFIX = "eskey_"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_CHARS = 22  # 62**22 > 2**128
CHECKSUM_CHARS = 6  # 62**6 > 2**32
SECRET_LENGTH = len(SECRET_PREFIX) + RANDOM_CHARS + CHECKSUM_CHARS
SECRET_PATTERN = re.compile(f"{SECRET_PREFIX}[0-9A-Za-z]{{{RANDOM_CHARS + CHECKSUM_CHARS}}}")
# base64("<id>:") is 28 characters ending in `6` (the low six bits of `:`); then the prefix's eight; then
# the 28 base62 characters' 38, and `==`.
ENCODED_PATTERN = re.compile(
    "[A-Za-z0-9+/]{27}6"
    + base64.b64encode(SECRET_PREFIX.encode()).decode()
    + f"[A-Za-z0-9+/]{{{-(-(RANDOM_CHARS + CHECKSUM_CHARS) * 4 // 3)}}}=="
)


class MalformedApiKey(ValueError):
    """The `ApiKey` credential could not be decoded into an id and a secret."""


def generate_id() -> str:
    """20 characters of URL-safe base64 (15 random bytes: no padding needed)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(ID_BYTES)).decode()


def generate_secret(secret_format: str = "prefixed") -> str:
    """A new secret of 128 random bits: recognisable (`SECRET_PATTERN`), or as Elasticsearch makes them (22
    characters of URL-safe base64 without padding)."""
    if secret_format == "elasticsearch":
        return base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")
    body = SECRET_PREFIX + _base62(int.from_bytes(secrets.token_bytes(SECRET_BYTES)), RANDOM_CHARS)
    return body + _checksum(body)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_CHARS)


def fails_checksum(secret: str) -> bool:
    """Whether `secret` claims the recognisable format (its prefix) but is not one: a typo, a truncation or a
    guess, told without reading anything. Secrets without the prefix (Elasticsearch-style) are not judged."""
    if not secret.startswith(SECRET_PREFIX):
        return False
    return not SECRET_PATTERN.fullmatch(secret) or _checksum(secret[:-CHECKSUM_CHARS]) != secret[-CHECKSUM_CHARS:]


def is_recognisable(secret: str) -> bool:
    return secret.startswith(SECRET_PREFIX) and not fails_checksum(secret)


def digest(secret: str) -> str:
    """An unsalted SHA-256 of a recognisable secret, hex: 128 random bits need no salt, and it finds the key
    of a leaked secret reported without its id."""
    return hashlib.sha256(secret.encode()).hexdigest()


def encode(key_id: str, secret: str) -> str:
    return base64.b64encode(f"{key_id}:{secret}".encode()).decode()


def decode(encoded: str) -> tuple[str, str]:
    """Split an `encoded` credential into (id, secret); raise MalformedApiKey when it is not one."""
    try:
        text = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise MalformedApiKey("invalid ApiKey value") from exc
    key_id, sep, secret = text.partition(":")
    # No key id holds a NUL, and PostgreSQL would refuse to even look one up.
    if not sep or not key_id or not secret or "\x00" in key_id:
        raise MalformedApiKey("invalid ApiKey value")
    return key_id, secret


@cache
def _argon2() -> PasswordHasher:
    return PasswordHasher()


def hash_secret(secret: str, algorithm: str = "ssha256") -> str:
    if algorithm == "ssha256":
        salt = os.urandom(8)
        digest = hashlib.sha256(secret.encode() + salt).digest()
        return SSHA256_PREFIX + base64.b64encode(salt + digest).decode()
    if algorithm == "argon2id":
        return _argon2().hash(secret)
    raise ValueError(f"unknown API key hash algorithm [{algorithm}]; use one of {', '.join(ALGORITHMS)}")


def is_fast(stored_or_algorithm: str) -> bool:
    """Whether checking a secret against this hash (or algorithm) costs microseconds (SSHA256), so that
    remembering the answer in a shared cache would cost more than finding it again."""
    return stored_or_algorithm.startswith(SSHA256_PREFIX) or stored_or_algorithm == "ssha256"


def verify_secret(secret: str, stored: str) -> bool:
    """True when `secret` matches `stored`, whichever algorithm made it. Constant time for SSHA256."""
    if stored.startswith(SSHA256_PREFIX):
        try:
            raw = base64.b64decode(stored[len(SSHA256_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            return False
        salt, expected = raw[:8], raw[8:]
        return hmac.compare_digest(hashlib.sha256(secret.encode() + salt).digest(), expected)
    if stored.startswith(ARGON2_PREFIX):
        try:
            return _argon2().verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return False
    return False


@cache
def _dummy_hash(algorithm: str) -> str:
    return hash_secret(generate_secret(), algorithm)


def dummy_verify(secret: str, algorithm: str) -> None:
    """Spend the time a real verification would, so an unknown id cannot be told from a wrong secret."""
    verify_secret(secret, _dummy_hash(algorithm))


def fingerprint(secret: str, salt: str) -> str:
    """A fast keyed hash of a secret, for remembering a successful verification in a cache."""
    return hmac.new(salt.encode(), secret.encode(), hashlib.sha256).hexdigest()
