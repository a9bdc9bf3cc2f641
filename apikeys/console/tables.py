"""The API keys table. django-tables2 holds the table's model (columns, headers, sort links, attrs); the rows
are written here in Python, one `<tr>` each, because rendering them cell by cell through templates was most
of the list page's time (21 of 27 ms a request at 100,000 keys, where SQL took 0.6 ms)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from html import escape

import django_tables2 as tables
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django_tables2.data import TableListData

from apikeys.console.charts import sparkline
from apikeys.console.presenters import badge, leaked_badge, owner_badge, relative_time, status_of, type_badge
from apikeys.models import NATIVE_REALM, ApiKey
from apikeys.readmodels.listing import DEFAULT_SORT, SORTS

KEY_ID_SLOT = "KEY-ID"


class PageOfKeys(TableListData):
    """One page of keys, already in the order the query read them: the table never sorts them again."""

    def order_by(self, aliases) -> None:
        pass


class Column(tables.Column):
    """A column this table never changes once declared: each table copies its columns, and a shallow copy is
    as good as the deep one tables2 makes, at a tenth of the cost (deep copies were half the table's set-up)."""

    def __deepcopy__(self, memo: dict) -> Column:
        return copy.copy(self)


class ApiKeyTable(tables.Table):
    select = Column(
        verbose_name="", orderable=False, attrs={"th": {"class": "select"}, "td": {"class": "select"}}, empty_values=()
    )
    name = Column(verbose_name="Name", order_by=SORTS["name"])
    type = Column(verbose_name="Type", accessor="managed", order_by=SORTS["type"])
    owner = Column(verbose_name="Owner", accessor="username", order_by=SORTS["owner"])
    created = Column(verbose_name="Created", accessor="creation", order_by=SORTS["created"])
    status = Column(verbose_name="Status", accessor="invalidated", order_by=SORTS["status"])
    last_used = Column(verbose_name="Last used", orderable=False, default="Never")
    actions = Column(verbose_name="Actions", accessor="id", orderable=False, attrs={"td": {"class": "actions"}})

    class Meta:
        model = ApiKey
        fields = ()
        sequence = ("select", "name", "type", "owner", "created", "status", "last_used", "actions")
        order_by_field = "sort"
        page_field = "page"
        per_page_field = "per_page"
        order_by = DEFAULT_SORT
        attrs = {"class": "keys"}

    def __init__(
        self,
        keys: list[ApiKey],
        *,
        query: QueryDict,
        show_owner: bool,
        can_delete: Callable[[ApiKey], bool],
        usage: dict[str, list[int]] | None = None,
        **kwargs,
    ):
        self.keys = keys
        self.usage = usage or {}
        self.query = query
        self.can_delete = can_delete
        # Built once a page: reverse() costs 35 µs a call. Key ids are URL-safe as they are.
        self.key_url = reverse("key_detail", args=[KEY_ID_SLOT]).replace(KEY_ID_SLOT, "{}")
        self.delete_url = reverse("delete_keys") + "?id={}"
        exclude = () if show_owner else ("owner",)
        super().__init__(PageOfKeys(keys), exclude=exclude, **kwargs)
        # (column, its th and td attributes): tables2 works the attributes out afresh at every ask.
        self.shown = [(column, column.attrs) for column in self.columns]

    def html_header(self) -> SafeString:
        """The header cells: a sort link on each sortable column (back to page 1), `aria-sort` on the sorted one."""
        cells = []
        query = self.query.copy()
        for column, column_attrs in self.shown:
            attrs = column_attrs["th"].as_html()
            header = escape(str(column.header))
            if column.orderable:
                query["sort"], query["page"] = column.order_by_alias.next, "1"
                url = escape(f"?{query.urlencode()}")
                descending = column.order_by_alias.is_descending
                arrow = (
                    f'<span aria-hidden="true"> {"&darr;" if descending else "&uarr;"}</span>'
                    if column.is_ordered
                    else ""
                )
                sort = f' aria-sort="{"descending" if descending else "ascending"}"' if column.is_ordered else ""
                cells.append(
                    f'<th scope="col" {attrs} data-sortable{sort}><a href="{url}" hx-get="{url}" '
                    f'hx-target="#keys-table" hx-push-url="true">{header}{arrow}</a></th>'
                )
            elif column.name == "select":
                cells.append(f'<th scope="col" {attrs}><span class="visually-hidden">Select</span></th>')
            else:
                cells.append(f'<th scope="col" {attrs}>{header}</th>')
        return mark_safe("".join(cells))

    def html_body(self) -> SafeString:
        """Every row of the page, one `<tr>` a line, cells in column order, each labelled for narrow screens.
        Each `cell_<column>` method returns its cell's HTML, escaped."""
        now = timezone.now()
        cells = [
            (
                f'<td {column_attrs["td"].as_html()} data-label="{escape(column.header)}">',
                getattr(self, f"cell_{column.name}"),
            )
            for column, column_attrs in self.shown
        ]
        return mark_safe(
            "\n".join(f"<tr>{''.join(f'{td}{cell(key, now)}</td>' for td, cell in cells)}</tr>" for key in self.keys)
        )

    @cached_property
    def deletable(self) -> set[int]:
        """The page's keys the caller may delete (as objects: `id()`), asked once a key: a checkbox and a Delete
        link each."""
        return {id(key) for key in self.keys if self.can_delete(key)}

    def cell_select(self, key: ApiKey, now: datetime) -> str:
        if id(key) not in self.deletable:
            return ""
        name = escape(key.name)
        managed = " data-managed" if key.managed else ""
        return (
            f'<input type="checkbox" name="id" value="{escape(key.id)}" aria-label="Select {name}" data-name="{name}"'
            f'{managed} class="row-select">'
        )

    def cell_name(self, key: ApiKey, now: datetime) -> str:
        return f'<a href="{self.key_url.format(key.id)}">{escape(key.name)}</a>'

    def cell_type(self, key: ApiKey, now: datetime) -> str:
        return type_badge(key)

    def cell_owner(self, key: ApiKey, now: datetime) -> str:
        if key.realm == NATIVE_REALM:
            return escape(key.username)
        return f'{escape(key.username)} <span class="realm">({escape(key.realm)})</span>'

    def cell_created(self, key: ApiKey, now: datetime) -> str:
        return relative_time(key.creation, now=now)

    def cell_status(self, key: ApiKey, now: datetime) -> str:
        return badge(*status_of(key, now)) + owner_badge(key.owner_enabled) + leaked_badge(key.leaked)

    def cell_last_used(self, key: ApiKey, now: datetime) -> str:
        used = relative_time(key.last_used, now=now)
        days = self.usage.get(key.id)
        if days is None:
            return used
        label = f"Requests in the last {len(days)} days: {', '.join(map(str, days))}"
        return f'<span class="used">{used}</span>{sparkline(days, label)}'

    def cell_actions(self, key: ApiKey, now: datetime) -> str:
        if id(key) not in self.deletable:
            return ""
        url = self.delete_url.format(key.id)
        return (
            f'<a class="danger-link" href="{url}" hx-get="{url}" hx-target="#dialog-slot" '
            f'aria-label="Delete {escape(key.name)}">Delete</a>'
        )
