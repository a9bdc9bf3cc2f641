"""Template filters of the console."""

from functools import cache

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django_htmx.jinja import htmx_script

from apikeys.readmodels.listing import COUNTED_UP_TO

register = template.Library()


@register.filter
def thousands(number: int) -> str:
    """`95,137`: a whole number with thousands separators (humanize's `intcomma` says the same through the
    localisation machinery, at several times the cost on a page that shows a dozen counts)."""
    return f"{number:,}"


@register.filter
def count_of(counts: dict, name: str) -> str:
    """The count beside a filter value: `thousands`, or `1,000+` where the listing stopped counting
    (`listing.COUNTED_UP_TO`)."""
    return f"{COUNTED_UP_TO:,}+" if name in counts.get("capped", ()) else f"{counts[name]:,}"


@register.simple_tag
def console_assets() -> str:
    """The stylesheet and scripts of every page (htmx among them). Their addresses stay the same while the
    server runs, so they are written once: looking them up on every page cost 80 µs."""
    return _assets()


@cache
def _assets() -> SafeString:
    return format_html(
        '<link rel="stylesheet" href="{}">\n  {}\n  <script src="{}" defer></script>',
        static("console.css"),
        htmx_script(),
        static("console.js"),
    )
