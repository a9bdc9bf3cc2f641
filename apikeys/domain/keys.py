"""API key secrets: generation, the `encoded` form, salted hashing and constant-time verification.

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
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SSHA256_PREFIX = "{SSHA256}"
ARGON2_PREFIX = "$argon2id$"
ALGORITHMS = ("ssha256", "argon2id")
ID_BYTES = 15
SECRET_BYTES = 16
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{20}")


class MalformedApiKey(ValueError):
    """The `ApiKey` credential could not be decoded into an id and a secret."""


def generate_id() -> str:
    """20 characters of URL-safe base64 (15 random bytes: no padding needed)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(ID_BYTES)).decode()


def generate_secret() -> str:
    """22 characters of URL-safe base64 without padding (16 random bytes, 128 bits)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


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
