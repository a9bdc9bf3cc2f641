"""Console views: thin – parse a form, call one service or read model, render a page or an htmx fragment (what
they share: `console/pages.py`; how they say things: `console/presenters.py`). `sign_in`, `single_sign_on`, `key_list` (the list and deleting), `create`, `key_page`, `roll`, `clone`, `audit`, `role_mappings`."""

from apikeys.console.views.audit import audit_export, audit_log
from apikeys.console.views.clone import clone_key
from apikeys.console.views.create import create_key, validate_json
from apikeys.console.views.key_list import delete_keys, key_list
from apikeys.console.views.key_page import check_privileges, key_detail
from apikeys.console.views.role_mappings import role_mapping_delete, role_mapping_edit, role_mapping_list
from apikeys.console.views.roll import roll_key
from apikeys.console.views.sign_in import SignInView
from apikeys.console.views.single_sign_on import callback as single_sign_on_callback
from apikeys.console.views.single_sign_on import sign_out
from apikeys.console.views.single_sign_on import start as single_sign_on_start

__all__ = [
    "SignInView",
    "audit_export",
    "audit_log",
    "check_privileges",
    "clone_key",
    "create_key",
    "delete_keys",
    "key_detail",
    "key_list",
    "role_mapping_delete",
    "role_mapping_edit",
    "role_mapping_list",
    "roll_key",
    "sign_out",
    "single_sign_on_callback",
    "single_sign_on_start",
    "validate_json",
]
