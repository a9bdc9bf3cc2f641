"""Who a bearer token stands for: the read side of OAuth2 tokens (`services.tokens` issues, refreshes and
invalidates them). Tokens are stored only as SHA-256 hashes, so a token is found by its hash."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from apikeys.domain.durations import now_ms
from apikeys.domain.errors import AuthenticationFailed
from apikeys.models import Token, User


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate_token(access_token: str) -> User:
    """The user a bearer token stands for; refused when unknown, expired or invalidated."""
    token = Token.objects.select_related("user").filter(access_hash=token_hash(access_token)).first()
    if token is None:
        raise AuthenticationFailed("token malformed or unknown")
    if token.invalidated or token.expires <= now_ms():
        raise AuthenticationFailed("token expired")
    if not token.user.is_active:
        raise AuthenticationFailed(f"the user [{token.user.username}] is disabled", username=token.user.username)
    return token.user


def is_jwt(token: str) -> bool:
    """Whether `token` is a signed JWT (three base64url parts, a header naming a signing algorithm, a JSON payload),
    as Elasticsearch tells one from its own access tokens. This server issues none; it only tells them apart."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return False
    try:
        header, payload = (json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in parts[:2])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    algorithm = header.get("alg") if isinstance(header, dict) else None
    return isinstance(algorithm, str) and algorithm != "none" and isinstance(payload, dict)
