"""The "Allowed IP addresses" field of the create flyout and the key page: one address or CIDR a line, checked
by the API's own validator (`networks.parse_allowlist`), a bad entry named by its line."""

from __future__ import annotations

from typing import Any

from django import forms

from apikeys.console.jsontext import JsonProblem
from apikeys.domain.errors import ApiError
from apikeys.domain.networks import FIELD, parse_allowlist

LABEL = "Allowed IP addresses"


def allowlist_value(text: str) -> list[str]:
    """The allowlist typed, one entry a line (blank lines skipped); JsonProblem with the line of the first bad
    entry. An empty text is `[]`: anywhere."""
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    try:
        return parse_allowlist([entry for _, entry in lines]) or []
    except ApiError as error:
        bad = error.path.removeprefix(f"{FIELD}[").removesuffix("]")
        line = lines[int(bad)][0] if bad.isdigit() else None
        message = f"'{lines[int(bad)][1]}' is not an IP address or a CIDR network." if line else error.message
        raise JsonProblem(message, line, error.path) from error


def allowlist_text(allowlist: list[str] | None) -> str:
    return "\n".join(allowlist or [])


class AllowlistField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocapitalize": "off", "class": "code"})

    def __init__(self, **kwargs: Any):
        super().__init__(required=False, strip=False, label=LABEL, **kwargs)

    def clean(self, value: Any) -> list[str]:
        try:
            return allowlist_value(super().clean(value) or "")
        except JsonProblem as problem:
            where = f" Line {problem.line}." if problem.line else ""
            raise forms.ValidationError(f"{problem.message}{where}") from problem
