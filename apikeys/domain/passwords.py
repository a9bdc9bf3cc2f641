"""Elasticsearch's password hashes, for the `password_hash` a program may give the user API instead of a password:
which of them this server accepts, and a Django password hasher that verifies a stored one.

Elasticsearch accepts a hash of any algorithm it stores passwords with: bcrypt and PBKDF2 (HMAC-SHA512, plain or
"stretched" through SHA-512 first) at a few fixed costs. No bcrypt library is installed here, so only the PBKDF2
family is accepted; a bcrypt hash is refused in Elasticsearch's words, naming what is accepted. A stored hash is
kept as `es_pbkdf2$<the hash as given>`, which Django's `check_password` hands to `ElasticsearchPbkdf2Hasher`; the
first successful sign-in re-hashes the password with the preferred hasher (argon2id), as Django does for any
hasher that is not first in `PASSWORD_HASHERS`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash

PBKDF2_PREFIX = "{PBKDF2}"
PBKDF2_STRETCH_PREFIX = "{PBKDF2_STRETCH}"
PREFIXES = {PBKDF2_STRETCH_PREFIX: "pbkdf2_stretch", PBKDF2_PREFIX: "pbkdf2"}  # the longer prefix first
# The costs Elasticsearch knows (its `Hasher` enum).
COSTS = (1000, 10000, 50000, 100000, 500000, 1000000)
MIN_SALT_BYTES = 8
# Elasticsearch derives a key this many bytes at a time (the HMAC-SHA512 block it checks key lengths against).
KEY_BLOCK_BYTES = 16
STORED_ALGORITHM = "es_pbkdf2"


def algorithm_names() -> list[str]:
    """What Elasticsearch calls each accepted algorithm and cost, in its own order: the default cost unnumbered,
    then every cost numbered (`pbkdf2`, `pbkdf2_1000`, `pbkdf2_10000`, ...)."""
    return [name for family in ("pbkdf2", "pbkdf2_stretch") for name in (family, *(f"{family}_{c}" for c in COSTS))]


NOT_A_HASH = (
    "The provided password hash is not a hash or it could not be resolved to a supported hash algorithm. "
    f"The supported password hash algorithms are [{', '.join(algorithm_names())}]"
)


class UnsupportedHash(ValueError):
    """A `password_hash` that is not one of the accepted hashes; the message is Elasticsearch's."""


@dataclass(frozen=True)
class Pbkdf2Hash:
    stretched: bool
    iterations: int
    salt: bytes
    key_b64: str  # compared as written, as Elasticsearch compares it

    @property
    def key_bytes(self) -> int:
        """The derived key's length, worked out from the written one as Elasticsearch does (whole blocks)."""
        return len(self.key_b64) * 3 // 64 * KEY_BLOCK_BYTES

    def matches(self, password: str) -> bool:
        secret = password.encode()
        if self.stretched:
            secret = hashlib.sha512(secret).hexdigest().encode()
        derived = hashlib.pbkdf2_hmac("sha512", secret, self.salt, self.iterations, self.key_bytes)
        return hmac.compare_digest(base64.b64encode(derived).decode(), self.key_b64)


def parse_hash(text: str) -> Pbkdf2Hash:
    """The hash `text` is, when this server can verify it; else `UnsupportedHash`. Elasticsearch reads only the
    prefix and the cost here; the salt and key are checked too, so that no stored hash can never verify."""
    prefix = next((p for p in PREFIXES if text.startswith(p)), None)
    if prefix is None:
        raise UnsupportedHash(NOT_A_HASH)
    cost, sep, rest = text[len(prefix) :].partition("$")
    if not sep or not cost.isdigit():
        raise UnsupportedHash("The number of iterations could not be determined from the provided PBKDF2 hash.")
    if int(cost) not in COSTS:
        raise UnsupportedHash(f"unknown hash function [{PREFIXES[prefix]}_{int(cost)}]")
    salt_b64, sep, key_b64 = rest.partition("$")
    try:
        salt = base64.b64decode(salt_b64, validate=True)
        key = base64.b64decode(key_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnsupportedHash(NOT_A_HASH) from exc
    parsed = Pbkdf2Hash(prefix == PBKDF2_STRETCH_PREFIX, int(cost), salt, key_b64)
    if not sep or len(salt) < MIN_SALT_BYTES or not parsed.key_bytes or len(key) != parsed.key_bytes:
        raise UnsupportedHash(NOT_A_HASH)
    return parsed


def stored_form(text: str) -> str:
    """How the user table keeps an accepted hash (Django's `algorithm$...` shape)."""
    return f"{STORED_ALGORITHM}${text}"


class ElasticsearchPbkdf2Hasher(BasePasswordHasher):
    """Verifies the Elasticsearch PBKDF2 hashes given as `password_hash`; never makes new ones (a password given
    as such is hashed with the preferred hasher)."""

    algorithm = STORED_ALGORITHM

    def verify(self, password: str, encoded: str) -> bool:
        try:
            return parse_hash(encoded.removeprefix(f"{self.algorithm}$")).matches(password)
        except UnsupportedHash:
            return False

    def encode(self, password: str, salt: str) -> str:
        raise NotImplementedError("Elasticsearch hashes are only verified here; new passwords use another hasher")

    def decode(self, encoded: str) -> dict:
        parsed = parse_hash(encoded.removeprefix(f"{self.algorithm}$"))
        return {
            "algorithm": self.algorithm,
            "iterations": parsed.iterations,
            "salt": base64.b64encode(parsed.salt).decode(),
            "hash": parsed.key_b64,
        }

    def safe_summary(self, encoded: str) -> dict:
        decoded = self.decode(encoded)
        return {
            "algorithm": decoded["algorithm"],
            "iterations": decoded["iterations"],
            "salt": mask_hash(decoded["salt"]),
            "hash": mask_hash(decoded["hash"]),
        }

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass
