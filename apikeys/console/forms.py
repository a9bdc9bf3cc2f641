"""Console forms. They parse what a person typed and hand it to the services' own validators, so the
console and the JSON API accept and refuse exactly the same things."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.safestring import SafeString, mark_safe

from apikeys import services
from apikeys.console.allowlist import AllowlistField, allowlist_value
from apikeys.console.jsontext import JsonProblem, line_of, parse_object
from apikeys.domain.durations import parse_duration
from apikeys.domain.errors import ApiError
from apikeys.domain.privileges import cross_cluster
from apikeys.domain.role_mappings import parse_rules
from apikeys.models import AuditEvent, KeyType
from apikeys.readmodels.listing import DEFAULT_STATUS_LABEL, STATUS_FILTERS, TYPES, KeyFilters

BOOKS_READ_ONLY = {
    "books-read-only": {
        "cluster": [],
        "indices": [{"names": ["books"], "privileges": ["read"]}],
        "applications": [],
        "run_as": [],
        "metadata": {},
        "transient_metadata": {"enabled": True},
    }
}
BOILERPLATES = {
    "read-only": {
        "read-only": {"cluster": [], "indices": [{"names": ["*"], "privileges": ["read", "view_index_metadata"]}]}
    },
    "write-only": {
        "write-only": {"cluster": [], "indices": [{"names": ["*"], "privileges": ["write", "create_index"]}]}
    },
}
UNIT_SUFFIX = {"days": "d", "hours": "h", "minutes": "m"}
UNIT_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60}


def in_units(seconds: int) -> tuple[int, str]:
    """A lifetime as the flyout's amount and unit: the largest unit that says it exactly (else minutes)."""
    for unit, size in UNIT_SECONDS.items():
        if seconds % size == 0:
            return seconds // size, unit
    return max(seconds // 60, 1), "minutes"


def lifetime_text(seconds: int) -> str:
    amount, unit = in_units(seconds)
    return f"{amount:,} {unit.removesuffix('s') if amount == 1 else unit}"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2)


def _editor_path(field: str, path: str) -> str:
    """A role mapping's JSON-pointer path (`/rules/all/0/field`) as a path in the rules editor's text (`all[0].field`)."""
    if field != "rules":
        return path
    parts = [p for p in path.removeprefix("/rules").split("/") if p]
    return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts).lstrip(".")


def json_field_value(field: str, text: str) -> Any:
    """Parse and validate one editor's text; raise JsonProblem pointing at the line to fix."""
    if field == "allowed_ips":  # not JSON: one entry a line
        return allowlist_value(text)
    data = parse_object(text)
    try:
        if field == "rules":
            return parse_rules(data)
        if field == "role_descriptors":
            return services.validate_descriptors(data)
        if field == "access":
            return cross_cluster.validate_access(data)
        return services.validate_metadata(data)
    except ApiError as error:
        path = _editor_path(field, error.path)
        message = f"{error.message} (at {path})" if path else error.message
        raise JsonProblem(message, line_of(text, path) if path else None, path) from error


class JsonEditorField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "autocapitalize": "off", "class": "code"})

    def __init__(self, *args, editor: str, **kwargs):
        self.editor = editor
        super().__init__(*args, required=False, strip=False, **kwargs)


class JsonEditorsMixin:
    """Validates the JSON editors whose switch is on (or that are always on)."""

    def clean_editor(self, name: str) -> Any:
        text = self.cleaned_data.get(name) or ""
        if not text.strip():
            return {}
        try:
            return json_field_value(name, text)
        except JsonProblem as problem:
            where = f" Line {problem.line}." if problem.line else ""
            raise forms.ValidationError(f"{problem.message}{where}") from problem


EDITORS = ("role_descriptors", "access", "metadata", "rules", "allowed_ips")
KEY_TYPES = [(KeyType.REST.value, "User API key"), (KeyType.CROSS_CLUSTER.value, "Cross-cluster API key")]


def key_name_field() -> forms.CharField:
    return forms.CharField(
        max_length=services.MAX_NAME_LENGTH, strip=False, error_messages={"required": "Enter a name."}
    )


class KeyNameMixin:
    """A new key's Name, checked by the API's own validator."""

    def clean_name(self) -> str:
        try:
            return services.validate_name(self.cleaned_data["name"])
        except ApiError as error:
            raise forms.ValidationError(error.message) from error


class CreateKeyForm(KeyNameMixin, JsonEditorsMixin, forms.Form):
    """A user API key (its privileges optionally restricted) or a cross-cluster key (its Access)."""

    name = key_name_field()
    type = forms.ChoiceField(required=False, choices=KEY_TYPES, initial=KeyType.REST.value, label="Type")
    access = JsonEditorField(editor="access", label="Access", initial=pretty(cross_cluster.DEFAULT_ACCESS))
    restrict = forms.BooleanField(required=False, label="Restrict privileges")
    role_descriptors = JsonEditorField(
        editor="role_descriptors", label="Role descriptors", initial=pretty(BOOKS_READ_ONLY)
    )
    expire = forms.BooleanField(required=False, label="Expire after time")
    expire_amount = forms.IntegerField(required=False, min_value=1, max_value=100_000, initial=30, label="Expire after")
    expire_unit = forms.ChoiceField(
        required=False, choices=[(u, u.capitalize()) for u in UNIT_SUFFIX], initial="days", label="Unit"
    )
    include_metadata = forms.BooleanField(required=False, label="Include metadata")
    metadata = JsonEditorField(editor="metadata", label="Metadata", initial="{}")
    certificate_identity = forms.CharField(required=False, strip=False, label="Certificate identity")
    allowed_ips = AllowlistField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The lifetime policy: its default pre-filled, and the switch on when keys must expire.
        self.lifetime = services.lifetime.policy()
        if self.lifetime.default_seconds is not None:
            amount, unit = in_units(self.lifetime.default_seconds)
            self.initial.update(expire=True, expire_amount=amount, expire_unit=unit)
        elif self.lifetime.maximum_seconds is not None:
            self.initial["expire"] = True

    @property
    def lifetime_limit(self) -> str:
        """The longest lifetime allowed, in words ("90 days"), or "" when there is no limit."""
        maximum = self.lifetime.maximum_seconds
        return lifetime_text(maximum) if maximum is not None else ""

    @property
    def cross_cluster(self) -> bool:
        return self.data.get("type") == KeyType.CROSS_CLUSTER

    def clean_role_descriptors(self) -> Any:
        return self.clean_editor("role_descriptors") if self.data.get("restrict") and not self.cross_cluster else {}

    def clean_access(self) -> Any:
        return self.clean_editor("access") if self.cross_cluster else {}

    def clean_metadata(self) -> Any:
        return self.clean_editor("metadata") if self.data.get("include_metadata") else {}

    def clean_certificate_identity(self) -> str | None:
        """A cross-cluster key's, checked as the API checks it; empty: none."""
        value = self.cleaned_data.get("certificate_identity") or None
        if not self.cross_cluster:
            return None
        try:
            return cross_cluster.validate_certificate_identity(value, "create_cross_cluster_api_key")
        except ApiError as error:
            raise forms.ValidationError(error.message) from error

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("expire") and not cleaned.get("expire_amount") and "expire_amount" not in self.errors:
            self.add_error("expire_amount", "Enter a number of days, hours or minutes.")
        return cleaned

    def to_body(self) -> dict[str, Any]:
        """The create request the JSON API would receive."""
        data = self.cleaned_data
        body: dict[str, Any] = {"name": data["name"]}
        if self.cross_cluster:
            body["access"] = data["access"]
            if data.get("certificate_identity") is not None:
                body["certificate_identity"] = data["certificate_identity"]
        elif data.get("restrict"):
            body["role_descriptors"] = data["role_descriptors"]
        if data.get("expire"):
            body["expiration"] = f"{data['expire_amount']}{UNIT_SUFFIX[data['expire_unit'] or 'days']}"
        if data.get("include_metadata"):
            body["metadata"] = data["metadata"]
        if data.get("allowed_ips") and not self.cross_cluster:
            body["allowed_ips"] = data["allowed_ips"]
        return body


GRACE_PERIODS = [
    ("0s", "Immediately"),
    ("1h", "In 1 hour"),
    ("24h", "In 24 hours"),
    ("7d", "In 7 days"),
    ("30d", "In 30 days"),
]


class RollKeyForm(forms.Form):
    """When the old key stops working once it is rolled: the API's `grace_period`, as a choice."""

    grace_period = forms.ChoiceField(choices=GRACE_PERIODS, initial="24h", label="Old key stops working")

    def to_body(self) -> dict[str, Any]:
        return {"grace_period": self.cleaned_data["grace_period"]}


# A clone's expiration: the key's own, a choice of lifetimes counted from now, or none.
SAME_EXPIRATION, NO_EXPIRATION = "", "never"
CLONE_EXPIRATIONS = [
    (SAME_EXPIRATION, "Same as this key"),
    ("7d", "In 7 days"),
    ("30d", "In 30 days"),
    ("90d", "In 90 days"),
    ("365d", "In 1 year"),
    (NO_EXPIRATION, "Never"),
]


class CloneKeyForm(KeyNameMixin, forms.Form):
    """A clone's name and expiration: the API's `name` and `expiration` (omitted for the key's own, null for
    none), offering only the lifetimes the lifetime policy allows."""

    name = key_name_field()
    expiration = forms.ChoiceField(
        required=False, choices=CLONE_EXPIRATIONS, initial=SAME_EXPIRATION, label="Expiration"
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        maximum = services.lifetime.policy().maximum_seconds
        if maximum is not None:
            self.fields["expiration"].choices = [
                (value, text)
                for value, text in CLONE_EXPIRATIONS
                if value == SAME_EXPIRATION or value != NO_EXPIRATION and parse_duration(value) <= maximum
            ]

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.cleaned_data["name"]}
        chosen = self.cleaned_data.get("expiration") or SAME_EXPIRATION
        if chosen != SAME_EXPIRATION:
            body["expiration"] = None if chosen == NO_EXPIRATION else chosen
        return body


class UpdateKeyForm(JsonEditorsMixin, forms.Form):
    """A user key's Role descriptors and Metadata, or a cross-cluster key's Access and Metadata."""

    role_descriptors = JsonEditorField(editor="role_descriptors", label="Role descriptors")
    access = JsonEditorField(editor="access", label="Access")
    metadata = JsonEditorField(editor="metadata", label="Metadata")
    allowed_ips = AllowlistField()

    def __init__(self, *args: Any, key_type: str = KeyType.REST, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.key_type = key_type
        del self.fields["role_descriptors" if key_type == KeyType.CROSS_CLUSTER else "access"]
        if key_type == KeyType.CROSS_CLUSTER:
            del self.fields["allowed_ips"]  # the API's allowlists are user keys' alone

    def clean_role_descriptors(self) -> Any:
        return self.clean_editor("role_descriptors")

    def clean_access(self) -> Any:
        return self.clean_editor("access")

    def clean_metadata(self) -> Any:
        return self.clean_editor("metadata")

    def to_body(self) -> dict[str, Any]:
        if self.key_type == KeyType.CROSS_CLUSTER:
            return {"access": self.cleaned_data["access"], "metadata": self.cleaned_data["metadata"]}
        data = self.cleaned_data
        return {
            "role_descriptors": data["role_descriptors"],
            "metadata": data["metadata"],
            "allowed_ips": data["allowed_ips"],
        }


class CheckPrivilegesForm(forms.Form):
    cluster = forms.CharField(required=False, label="Cluster privilege", max_length=100)
    index = forms.CharField(required=False, label="Index name", max_length=255)
    index_privilege = forms.CharField(required=False, label="Index privilege", max_length=100)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("cluster") and not (cleaned.get("index") and cleaned.get("index_privilege")):
            raise forms.ValidationError("Enter a cluster privilege, or an index name and an index privilege.")
        return cleaned

    def to_request(self) -> dict[str, Any]:
        data = self.cleaned_data
        request: dict[str, Any] = {}
        if data.get("cluster"):
            request["cluster"] = [data["cluster"]]
        if data.get("index") and data.get("index_privilege"):
            request["index"] = [{"names": [data["index"]], "privileges": [data["index_privilege"]]}]
        return request


STATUS_CHOICES = [("", DEFAULT_STATUS_LABEL), *STATUS_FILTERS.items()]
TYPE_CHOICES = [("", "All types"), *TYPES.items()]


class KeyFilterForm(forms.Form):
    """The list's search and filters; its fields are the list URL's filter parameters."""

    q = forms.CharField(required=False, label="Search API keys", max_length=256)
    type = forms.ChoiceField(required=False, choices=TYPE_CHOICES, label="Type")
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label="Status")
    owner = forms.CharField(required=False, label="Owner", max_length=150)

    def owner_options(self, owners: list[tuple[str, int]]) -> SafeString:
        """The Owner filter's `<option>`s, each with its count: written here, not in a template loop, which cost
        a tenth of the list page's time with 20 owners."""
        chosen = self.data.get("owner", "")
        return mark_safe(
            "".join(
                f'<option value="{escape(owner)}"{" selected" if owner == chosen else ""}>{escape(owner)} ({count:,})</option>'
                for owner, count in owners
            )
        )

    def filters(self) -> KeyFilters:
        """What was asked for (nothing, when any value is not valid)."""
        if not self.is_valid():
            return KeyFilters()
        return KeyFilters(**{name: self.cleaned_data.get(name) or "" for name in self.base_fields})


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False, label="Event", choices=[("", "All events"), *AuditEvent.Action.choices])
    actor = forms.CharField(required=False, label="User", max_length=150)
    key_id = forms.CharField(required=False, label="API key ID", max_length=64)

    def events(self) -> QuerySet[AuditEvent]:
        events = AuditEvent.objects.all()
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("action"):
            events = events.filter(action=data["action"])
        if data.get("actor"):
            events = events.filter(actor=data["actor"])
        if data.get("key_id"):
            events = events.filter(key_id=data["key_id"])
        return events.order_by("-timestamp", "-id")


class RoleMappingForm(JsonEditorsMixin, forms.Form):
    """A role mapping as a person edits it: its name (when new), whether it is on, its roles and its rules."""

    name = forms.CharField(max_length=507, required=False)
    enabled = forms.BooleanField(required=False, initial=True)
    roles = forms.CharField(required=False, help_text="Role names, separated by commas.")
    rules = JsonEditorField(editor="rules")

    def clean_roles(self) -> list[str]:
        return [name.strip() for name in self.cleaned_data.get("roles", "").split(",") if name.strip()]

    def clean_rules(self) -> Any:
        if not (self.cleaned_data.get("rules") or "").strip():
            raise forms.ValidationError("Enter the rules: which users the mapping is for.")
        return self.clean_editor("rules")

    def body(self, kept: dict[str, Any]) -> dict[str, Any]:
        """The API body: what the form edits, over what it does not (role templates, metadata) kept as stored."""
        body = {**kept, "enabled": self.cleaned_data["enabled"], "rules": self.cleaned_data["rules"]}
        if self.cleaned_data["roles"] or not kept.get("role_templates"):
            body["roles"] = self.cleaned_data["roles"]
            body.pop("role_templates", None)
        return body
