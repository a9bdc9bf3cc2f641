"""Signing people in to the console: Django's `ModelBackend`, with the signed-in user's row read by a statement
compiled once (`fast_rows.RowsOf`). Django asks the backend for that user on every console request, and its
`QuerySet.get` cost 0.45 ms a request, seven times running the statement.

`django.contrib.auth.backends.ModelBackend` stays listed after this one in `AUTHENTICATION_BACKENDS`, for sessions
signed in before it was (a session names the backend that signed it in). So that a wrong password is not hashed a
second time by that one, a refusal here is final (`PermissionDenied`, which ends Django's `authenticate`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from apikeys.infra.fast_rows import RowsOf
from apikeys.models import User

# What `login(request, user, backend=...)` records for a session this backend serves.
BACKEND = "apikeys.access.accounts.Accounts"
_BY_ID = RowsOf(User, [field.name for field in User._meta.concrete_fields], "id", ["id"])


class Accounts(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and password is not None:
            raise PermissionDenied  # no other backend checks the same password again
        return user

    def get_user(self, user_id: Any) -> User | None:
        found = _BY_ID.fetch(user_id)
        return found[0] if found and self.user_can_authenticate(found[0]) else None
