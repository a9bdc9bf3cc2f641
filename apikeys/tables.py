"""The API keys table: django-tables2 renders and sorts; the rows come from the query engine."""

from __future__ import annotations

from datetime import datetime, timedelta

import django_tables2 as tables
from django.core.paginator import Paginator
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from .models import ApiKey

JUST_NOW = timedelta(minutes=1)
DEFAULT_SORT = "-created"
# What each sortable column orders by; ties are broken by id so that pages never overlap.
SORTS = {
    "name": ("name", "id"),
    "type": ("managed", "creation", "id"),  # apikey_managed serves the type filter and this sort
    "owner": ("username", "id"),
    "created": ("creation", "id"),
    "status": ("invalidated", "expiration", "id"),
}


class WindowPaginator(Paginator):
    """Pagination over one page the query already cut out: the rows given are that page, `total` is the
    count of every matching row (so no OFFSET over the whole table happens here)."""

    def __init__(self, object_list, per_page, total: int = 0, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.total = total

    @cached_property
    def count(self) -> int:
        return self.total

    def page(self, number):
        return self._get_page(list(self.object_list), self.validate_number(number), self)


def relative_time(moment: datetime | None, never: str = "Never") -> str:
    """`<time>` with a relative text and the exact moment (the page's script shows it in local time)."""
    if moment is None:
        return never
    now = timezone.now()
    if abs(now - moment) < JUST_NOW:
        text = "Just now"
    elif moment <= now:
        text = f"{timesince(moment, now, depth=1)} ago"
    else:
        text = f"in {timeuntil(moment, now, depth=1)}"
    exact = moment.isoformat()
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', exact, moment.strftime("%Y-%m-%d %H:%M:%S UTC"), text
    )


def status_of(key: ApiKey, now: datetime | None = None) -> tuple[str, str]:
    """(label, tone) for the Status column: Active, Expires in …, Expired, Invalidated."""
    now = now or timezone.now()
    if key.invalidated:
        return "Invalidated", "danger"
    if key.expiration is None:
        return "Active", "success"
    if key.expiration <= now:
        return "Expired", "muted"
    tone = "warning" if key.expiration - now < timedelta(days=7) else "success"
    return f"Expires in {timeuntil(key.expiration, now, depth=1)}", tone


class ApiKeyTable(tables.Table):
    select = tables.TemplateColumn(
        '<input type="checkbox" name="id" value="{{ record.id }}" aria-label="Select {{ record.name }}" '
        'data-name="{{ record.name }}"{% if record.managed %} data-managed{% endif %} class="row-select">',
        verbose_name="",
        orderable=False,
        attrs={"th": {"class": "select"}, "td": {"class": "select"}},
    )
    name = tables.Column(verbose_name="Name", order_by=SORTS["name"])
    type = tables.Column(verbose_name="Type", accessor="managed", order_by=SORTS["type"])
    owner = tables.Column(verbose_name="Owner", accessor="username", order_by=SORTS["owner"])
    created = tables.Column(verbose_name="Created", accessor="creation", order_by=SORTS["created"])
    status = tables.Column(verbose_name="Status", accessor="invalidated", order_by=SORTS["status"])
    last_used = tables.Column(verbose_name="Last used", orderable=False, default="Never")
    actions = tables.Column(verbose_name="Actions", accessor="id", orderable=False, attrs={"td": {"class": "actions"}})

    class Meta:
        model = ApiKey
        fields = ()
        sequence = ("select", "name", "type", "owner", "created", "status", "last_used", "actions")
        order_by_field = "sort"
        page_field = "page"
        per_page_field = "per_page"
        order_by = DEFAULT_SORT
        template_name = "apikeys/_table_body.html"
        attrs = {"class": "keys"}

    def __init__(self, *args, show_owner: bool, can_delete, **kwargs):
        self.can_delete = can_delete
        exclude = () if show_owner else ("owner",)
        super().__init__(*args, exclude=exclude, **kwargs)

    def render_name(self, record: ApiKey) -> str:
        return format_html('<a href="{}">{}</a>', reverse("key_detail", args=[record.id]), record.name)

    def render_type(self, record: ApiKey) -> str:
        label, tone = ("Managed", "accent") if record.managed else ("Personal", "plain")
        return format_html('<span class="badge {}">{}</span>', tone, label)

    def render_created(self, record: ApiKey) -> str:
        return relative_time(record.creation)

    def render_status(self, record: ApiKey) -> str:
        label, tone = status_of(record)
        return format_html('<span class="badge {}">{}</span>', tone, label)

    def render_last_used(self, record: ApiKey) -> str:
        return relative_time(record.last_used)

    def render_actions(self, record: ApiKey) -> str:
        if not self.can_delete(record) or record.invalidated:
            return ""
        url = reverse("delete_keys") + f"?id={record.id}"
        return format_html(
            '<a class="danger-link" href="{}" hx-get="{}" hx-target="#dialog-slot" aria-label="Delete {}">Delete</a>',
            url,
            url,
            record.name,
        )
