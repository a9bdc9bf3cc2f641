"""Checking that a leak report comes from the secret scanner: GitHub's partner program signs each payload with
ECDSA (P-256, SHA-256) and names the key in `Github-Public-Key-Identifier`; the signature, base64 of its DER
form, comes in `Github-Public-Key-Signature`. The scanner's public keys are a JSON file in the shape GitHub
publishes them (`{"public_keys": [{"key_identifier", "key": PEM, "is_current"}]}`), named by
`APIKEYS_SECRET_SCANNING_KEYS` and read at each report, so replacing the file rotates the keys."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

log = logging.getLogger(__name__)

KEY_IDENTIFIER_HEADER = "Github-Public-Key-Identifier"
SIGNATURE_HEADER = "Github-Public-Key-Signature"


def public_key(identifier: str) -> ec.EllipticCurvePublicKey | None:
    """The scanner's public key of that identifier, or None (no such key, no file, or a file that cannot be
    read: logged, and every report refused until it is fixed)."""
    path = settings.APIKEYS_SECRET_SCANNING_KEYS
    if not path or not identifier:
        return None
    try:
        published = json.loads(Path(path).read_text())
        for entry in published["public_keys"]:
            if entry["key_identifier"] == identifier:
                key = serialization.load_pem_public_key(entry["key"].encode())
                return key if isinstance(key, ec.EllipticCurvePublicKey) else None
    except (OSError, ValueError, KeyError, TypeError):
        log.exception("the secret scanning keys in %s cannot be read", path)
    return None


def signature_holds(payload: bytes, identifier: str, signature: str) -> bool:
    """Whether `signature` (base64 DER) signs `payload`, byte for byte, with the scanner's key `identifier`."""
    key = public_key(identifier)
    if key is None:
        return False
    try:
        key.verify(base64.b64decode(signature, validate=True), payload, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
