"""GET /audit/export?format=ndjson|csv: the audit page's events, with its filters and its access rule, streamed
(100,000 events in one statement, read a chunk at a time: memory stays that of a chunk)."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apikeys.models import AuditEvent
from apikeys.records import audit
from tests.conftest import basic

EXPORT = "/audit/export/"


@pytest.fixture
def auditor(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def events(api, alice, admin):
    """A created key, its update, a role change and a failed authentication, in that order."""
    key = api("POST", "/_security/api_key", basic(alice), {"name": '=HYPERLINK("http://evil")'}).json()
    api("PUT", f"/_security/api_key/{key['id']}", basic(alice), {"metadata": {"team": "a"}})
    api("PUT", "/_security/role/readers", basic(admin), {"cluster": ["monitor"]})
    api("GET", "/_security/_authenticate", basic(alice, "wrong"))
    return key


def body(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def test_an_administrator_exports_every_event_as_ndjson_oldest_first(auditor, events):
    response = auditor.get(EXPORT, {"format": "ndjson"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    lines = [json.loads(line) for line in body(response).splitlines()]
    assert [line["action"] for line in lines] == ["create", "update", "role_change", "auth_failure"]
    assert [line["id"] for line in lines] == sorted(AuditEvent.objects.values_list("id", flat=True))
    first = lines[0]
    assert set(first) == set(audit.DOCUMENT_FIELDS)
    assert (first["actor"], first["key_id"], first["client_address"]) == ("alice", events["id"], "127.0.0.1")
    assert first["timestamp"].endswith("Z") and first["details"] == {"owner": "alice"}


def test_ndjson_is_the_default_format(auditor, events):
    assert auditor.get(EXPORT)["Content-Type"] == "application/x-ndjson"


def test_the_page_filters_select_what_is_exported(auditor, events):
    by_action = body(auditor.get(EXPORT, {"action": "update"})).splitlines()
    assert [json.loads(line)["action"] for line in by_action] == ["update"]
    by_key = body(auditor.get(EXPORT, {"key_id": events["id"], "actor": "alice"})).splitlines()
    assert [json.loads(line)["action"] for line in by_key] == ["create", "update"]
    assert body(auditor.get(EXPORT, {"actor": "nobody"})) == ""


def test_csv_has_a_header_and_neutralizes_formulas(auditor, events):
    response = auditor.get(EXPORT, {"format": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [row["action"] for row in rows] == ["create", "update", "role_change", "auth_failure"]
    assert rows[0]["target"] == '\'=HYPERLINK("http://evil")'  # a spreadsheet shows it, never runs it
    assert json.loads(rows[3]["details"])["path"] == "/_security/_authenticate"
    assert rows[3]["count"] == "1"


def test_an_unknown_format_is_refused(auditor, events):
    response = auditor.get(EXPORT, {"format": "xml"})
    assert response.status_code == 400
    assert b"format=ndjson or format=csv" in response.content


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(EXPORT)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_only_those_who_may_read_the_audit_log_export_it(alice, manager):
    for user in (alice, manager):
        client = Client()
        client.force_login(user)
        assert client.get(EXPORT).status_code == 403


def test_the_export_answers_get_only(auditor):
    assert auditor.post(EXPORT).status_code == 405


def test_the_audit_page_links_to_the_export_with_its_filters(auditor, events):
    page = auditor.get("/audit/", {"action": "update", "page": "1"}).content.decode()
    assert f'href="{EXPORT}?action=update&amp;format=ndjson"' in page
    assert f'href="{EXPORT}?action=update&amp;format=csv"' in page


def resident_bytes() -> int:
    """This process's resident memory now (Linux: /proc/self/statm)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_100000_events_stream_in_one_statement_without_being_held_in_memory(auditor, admin):
    audit.record_many(audit.Action.INVALIDATE, "admin", ((f"k{i:019d}", f"key-{i}") for i in range(100_000)))
    start = resident_bytes()
    with CaptureQueriesContext(connection) as queries:
        response = auditor.get(EXPORT, {"format": "ndjson"})
        lines = size = grown = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
            size += len(chunk)
            grown = max(grown, resident_bytes() - start)
    assert lines == 100_000
    reads = [q for q in queries.captured_queries if "apikeys_auditevent" in q["sql"]]
    assert len(reads) == 1
    # Held whole, 100,000 events would take well over 100 MB as rows; streamed, a chunk (2,000) at a time.
    assert size > 15_000_000 and grown < 30_000_000, f"grew {grown:,} bytes for {size:,} bytes exported"
