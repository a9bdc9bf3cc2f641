"""Request ids and JSON logs (`LOG_FORMAT=json`): one valid JSON line per request with its id, route, status,
duration and caller, and never a secret, a password or a token, whatever the request carried."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import logging.config
import re
from datetime import datetime, timedelta

import pytest
from django.test import Client
from pythonjsonlogger.orjson import OrjsonFormatter as LibraryJsonFormatter

from apikeys.infra.request_log import RequestLines
from config.logs import FIELDS, JSON_FORMATTER, JsonFormatter, json_formatter
from tests.conftest import PASSWORD, apikey_header, basic, new_key

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_log(settings):
    """The log as `LOG_FORMAT=json` writes it (the settings' formatter and filters), captured: its lines."""
    settings.LOG_FORMAT = "json"
    output = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"json": JSON_FORMATTER},
            "filters": {
                "scrub_secrets": {"()": "apikeys.infra.logs.ScrubSecrets"},
                "request_id": {"()": "apikeys.infra.request_log.RequestIdFilter"},
            },
            "handlers": {
                "captured": {
                    "class": "logging.StreamHandler",
                    "stream": output,
                    "formatter": "json",
                    "filters": ["scrub_secrets", "request_id"],
                }
            },
            "root": {"handlers": ["captured"], "level": "INFO"},
        }
    )
    yield lambda: output.getvalue().splitlines()
    logging.config.dictConfig(settings.LOGGING)


@contextlib.contextmanager
def alone():
    """Only the log's own handler on the root logger, as in production: pytest adds its capturing handlers for each
    test's body, and with them a request's line goes through `logging` (`RequestLines`), not the shortcut."""
    root = logging.getLogger()
    others = [handler for handler in root.handlers if not isinstance(handler.formatter, JsonFormatter)]
    for handler in others:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in others:
            root.addHandler(handler)


def request_lines(lines: list[str]) -> list[dict]:
    return [record for record in map(json.loads, lines) if record["logger"] == "apikeys.request"]


def test_every_request_gets_an_id_echoed_in_the_answer(client, db):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert HEX_ID.fullmatch(first["X-Request-Id"]) and HEX_ID.fullmatch(second["X-Request-Id"])
    assert first["X-Request-Id"] != second["X-Request-Id"]


def test_a_sane_request_id_from_the_caller_is_kept(client, db):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="trace-42.a:b_c")["X-Request-Id"] == "trace-42.a:b_c"


@pytest.mark.parametrize("given", ["", "two words", "x" * 129, "semi;colon", "new\\nline", "é"])
def test_an_insane_request_id_is_replaced(client, db, given):
    assert HEX_ID.fullmatch(client.get("/healthz", HTTP_X_REQUEST_ID=given)["X-Request-Id"])


def test_each_request_writes_one_json_line_with_its_id_route_status_and_caller(json_log, alice):
    key = new_key(alice)
    with alone():
        answer = Client().get(
            f"/_security/api_key/{key.key.id}/_usage",
            HTTP_AUTHORIZATION=apikey_header(key.encoded),
            HTTP_X_REQUEST_ID="req-1",
        )
    assert answer.status_code == 200
    (line,) = request_lines(json_log())
    assert line["request_id"] == "req-1"
    assert {k: line[k] for k in ("method", "surface", "endpoint", "status", "credential", "key_id", "username")} == {
        "method": "GET",
        "surface": "api",
        "endpoint": "_security/api_key/<str:key_id>/_usage",
        "status": 200,
        "credential": "api_key",
        "key_id": key.key.id,
        "username": "alice",
    }
    assert line["client"] == "127.0.0.1" and line["duration_ms"] > 0
    assert line["level"] == "INFO" and line["message"] == "request" and "timestamp" in line


def test_a_console_request_names_its_signed_in_user(json_log, alice):
    browser = Client()
    browser.force_login(alice)
    assert browser.get("/api-keys/").status_code == 200
    (line,) = request_lines(json_log())
    assert (line["surface"], line["endpoint"], line["credential"], line["username"]) == (
        "console",
        "key_list",
        "session",
        "alice",
    )


def test_every_line_of_a_request_carries_its_id(json_log, alice):
    Client().get("/_security/_authenticate", HTTP_AUTHORIZATION=basic(alice, "wrong"), HTTP_X_REQUEST_ID="req-2")
    records = [json.loads(line) for line in json_log()]
    warning = next(r for r in records if r["logger"] == "apikeys.access.authentication")
    assert warning["request_id"] == "req-2" and warning["level"] == "WARNING"
    assert {r["request_id"] for r in records} == {"req-2"}


def test_no_secret_password_or_token_reaches_the_log(json_log, admin, alice):
    key = new_key(alice)
    client = Client()
    grant = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    token = client.post(
        "/_security/oauth2/token", grant, content_type="application/json", HTTP_AUTHORIZATION=basic(admin)
    ).json()
    calls = [
        ("get", "/_security/_authenticate", apikey_header(key.encoded), None),
        ("get", f"/_security/_authenticate?api_key={key.encoded}", apikey_header(key.encoded + "x"), None),
        ("get", "/_security/_authenticate", basic(alice), None),
        ("get", "/_security/_authenticate", basic(alice, "hunter2-wrong"), None),
        ("get", "/_security/_authenticate", f"Bearer {token['access_token']}", None),
        ("get", "/_security/_authenticate", f"Bearer {token['refresh_token']}", None),
        ("put", "/_security/user/dora", basic(admin), {"password": "dora-secret-passphrase"}),
        ("post", "/_security/api_key", basic(alice), {"name": "logged?"}),
    ]
    answers = []
    for method, path, auth, body in calls:
        answer = getattr(client, method)(path, body, content_type="application/json", HTTP_AUTHORIZATION=auth)
        answers.append(answer)
    created = answers[-1].json()
    lines = json_log()
    assert len(request_lines(lines)) == len(calls) + 1  # the token's request too
    text = "\n".join(lines)
    secrets = [
        key.encoded,
        key.secret,
        PASSWORD,
        "hunter2-wrong",
        token["access_token"],
        token["refresh_token"],
        "dora-secret-passphrase",
        created["api_key"],
        created["encoded"],
        basic(alice).split()[1],
    ]
    assert [secret for secret in secrets if secret in text] == []


def test_the_default_text_log_writes_no_line_per_request(client, db, caplog, settings):
    assert settings.LOG_FORMAT == "text"
    caplog.set_level(logging.INFO)
    client.get("/healthz")
    assert [r for r in caplog.records if r.name == "apikeys.request"] == []


def test_the_request_lines_shortcut_writes_what_python_json_logger_writes():
    formatter = json_formatter()
    fields = {"request_id": "r", "method": "GET", "status": 200, "duration_ms": 1.5, "key_id": "", "client": None}
    fast, plain = (logging.LogRecord("apikeys.request", logging.INFO, __file__, 1, "request", None, None) for _ in "ab")
    plain.created = fast.created
    setattr(fast, FIELDS, fields)
    plain.__dict__.update(fields)
    assert json.loads(formatter.format(fast)) == json.loads(LibraryJsonFormatter.format(formatter, plain))


class Kept(logging.Handler):
    """A second handler: its records, as `logging` hands them over."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def without_timestamp(line: dict) -> dict:
    return {name: value for name, value in line.items() if name != "timestamp"}


def test_a_request_line_written_past_logging_is_the_line_logging_writes(json_log):
    lines = RequestLines(logging.getLogger("apikeys.request"))
    fields = {"request_id": "r1", "method": "GET", "status": 200, "duration_ms": 0.25, "key_id": "", "client": None}
    with alone():
        assert lines.sole_handler() is not None  # the set-up LOG_FORMAT=json makes: the shortcut
        lines.write(fields)
    kept = Kept()
    logging.getLogger().addHandler(kept)
    try:
        assert lines.sole_handler() is None  # two handlers: through logging
        lines.write(fields)
    finally:
        logging.getLogger().removeHandler(kept)
    (record,) = kept.records
    assert record.name == "apikeys.request" and record.getMessage() == "request"
    fast, through_logging = map(json.loads, json_log())
    assert (
        without_timestamp(fast)
        == without_timestamp(through_logging)
        == {
            "level": "INFO",
            "logger": "apikeys.request",
            "message": "request",
            **fields,
        }
    )
    assert abs(
        datetime.fromisoformat(fast["timestamp"]) - datetime.fromisoformat(through_logging["timestamp"])
    ) < timedelta(seconds=5)


def test_a_request_line_goes_through_logging_when_a_filter_could_change_it(json_log):
    (handler,) = [handler for handler in logging.getLogger().handlers if isinstance(handler.formatter, JsonFormatter)]
    dropping = logging.Filter("somewhere.else")  # drops every record of other loggers
    handler.addFilter(dropping)
    try:
        with alone():
            lines = RequestLines(logging.getLogger("apikeys.request"))
            assert lines.sole_handler() is None
            lines.write({"request_id": "r2"})
    finally:
        handler.removeFilter(dropping)
    assert json_log() == []


def test_no_request_line_when_the_level_leaves_info_out(json_log):
    logger = logging.getLogger("apikeys.request")
    logger.setLevel(logging.WARNING)
    try:
        with alone():
            RequestLines(logger).write({"request_id": "r3"})
    finally:
        logger.setLevel(logging.NOTSET)
    assert json_log() == []


def test_a_broken_log_stream_never_fails_the_request_and_the_line_is_not_written_twice(json_log, monkeypatch):
    (handler,) = [handler for handler in logging.getLogger().handlers if isinstance(handler.formatter, JsonFormatter)]
    reported = []
    monkeypatch.setattr(handler, "handleError", reported.append)
    monkeypatch.setattr(handler.stream, "write", lambda text: (_ for _ in ()).throw(OSError("disk full")))
    with alone():
        RequestLines(logging.getLogger("apikeys.request")).write({"request_id": "r4"})
    (record,) = reported
    assert record.getMessage() == "request" and getattr(record, FIELDS) == {"request_id": "r4"}
