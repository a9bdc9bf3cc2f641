"""Console views: thin – parse a form, call one service or read model, render a page or an htmx fragment (what
they share: `console/pages.py`; how they say things: `console/presenters.py`). `sign_in`, `key_list` (the list and deleting), `create`, `key_page`, `roll`, `audit`."""

from apikeys.console.views.audit import audit_export, audit_log
from apikeys.console.views.create import create_key, validate_json
from apikeys.console.views.key_list import delete_keys, key_list
from apikeys.console.views.key_page import check_privileges, key_detail
from apikeys.console.views.roll import roll_key
from apikeys.console.views.sign_in import SignInView

__all__ = [
    "SignInView",
    "audit_export",
    "audit_log",
    "check_privileges",
    "create_key",
    "delete_keys",
    "key_detail",
    "key_list",
    "roll_key",
    "validate_json",
]
