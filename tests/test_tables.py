"""The keys table writes its rows in Python: the same words and markup as Django's own helpers would give."""

from datetime import UTC, datetime, timedelta

from django.http import QueryDict
from django.utils.timesince import timesince
from hypothesis import example, given, settings
from hypothesis import strategies as st

from apikeys.console.presenters import elapsed
from apikeys.console.tables import ApiKeyTable
from apikeys.models import ApiKey
from tests.hypothesis_profiles import examples

moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))
spans = st.one_of(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(minutes=5)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)),
)


@settings(max_examples=examples(10))
@given(earlier=moments, span=spans)
@example(earlier=datetime(2024, 1, 31, 12, tzinfo=UTC), span=timedelta(days=29))  # into a short month
@example(earlier=datetime(2024, 2, 29, tzinfo=UTC), span=timedelta(days=366))  # a leap day, a year on
@example(earlier=datetime(2024, 3, 1, 10, tzinfo=UTC), span=timedelta(days=31, seconds=-1))
def test_elapsed_says_what_djangos_timesince_says(earlier, span):
    assert elapsed(earlier, earlier + span) == timesince(earlier, earlier + span, depth=1)


def key(**fields) -> ApiKey:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    made = ApiKey(id="k" * 20, name="<b>&name", username="o'wner", creation=now - timedelta(hours=5), **fields)
    made.owner_enabled = True  # as the list reads it with each row
    return made


def test_rows_escape_what_people_typed():
    table = ApiKeyTable([key()], query=QueryDict(""), show_owner=True, can_delete=lambda k: True)
    body = table.html_body()
    assert "<b>" not in body and "&lt;b&gt;&amp;name" in body and "o&#x27;wner" in body
    assert body.count("<td") == 8 and 'data-label="Owner"' in body


def test_rows_offer_delete_only_where_the_viewer_may():
    deletable = key()
    table = ApiKeyTable([deletable, key()], query=QueryDict(""), show_owner=False, can_delete=lambda k: k is deletable)
    rows = table.html_body().split("\n")
    assert ">Delete</a>" in rows[0] and 'type="checkbox"' in rows[0]
    assert ">Delete</a>" not in rows[1] and 'type="checkbox"' not in rows[1], "no checkbox where a delete would fail"
    assert 'data-label="Owner"' not in rows[0]
    forbidden = ApiKeyTable([key()], query=QueryDict(""), show_owner=False, can_delete=lambda k: False)
    assert ">Delete</a>" not in forbidden.html_body()


def test_sort_links_keep_the_search_and_go_back_to_the_first_page():
    table = ApiKeyTable([], query=QueryDict("q=ops&page=4"), order_by="name", show_owner=True, can_delete=bool)
    header = table.html_header()
    assert 'href="?q=ops&amp;page=1&amp;sort=-name"' in header
    assert 'aria-sort="ascending"' in header and header.count("data-sortable") == 5
