"""Console views: thin – parse a form, call one service or query, render a page or an htmx fragment. `common`
(what they share), `sign_in`, `key_list` (the list and deleting), `create`, `key_page`, `roll`, `audit`."""

from .audit import audit_log
from .create import create_key, validate_json
from .key_list import delete_keys, key_list
from .key_page import check_privileges, key_detail
from .roll import roll_key
from .sign_in import SignInView

__all__ = [
    "SignInView",
    "audit_log",
    "check_privileges",
    "create_key",
    "delete_keys",
    "key_detail",
    "key_list",
    "roll_key",
    "validate_json",
]
