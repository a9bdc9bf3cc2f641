"""Schemathesis runs every operation of /openapi.json against the app, as a superuser with Basic auth, and
checks that no answer is a 5xx, that every status code is documented for its operation, and that every
body matches the schema the document gives for it.

Requests go straight to the WSGI application (`config.wsgi.application`) in this process, inside the test's
transaction on pytest-django's test database; each operation is one test.

Bounded for CI: 25 generated requests per operation (Schemathesis' examples and fuzzing phases, positive
and negative data), derandomized, so every run sends the same requests and the module stays well under a
minute. To fuzz harder by hand, set FUZZ_EXAMPLES; it also turns on Schemathesis' coverage phase (boundary
values and every kind of invalid input, schema by schema):

    FUZZ_EXAMPLES=500 .venv/bin/python -m pytest tests/test_api_fuzz.py
"""

from __future__ import annotations

import os

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from config.wsgi import application
from tests.conftest import PASSWORD, make_user

BY_HAND = "FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 25))
FUZZER = "fuzzer"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi(
    "/openapi.json",
    application,
    config=schemathesis.Config.from_dict(
        {
            "seed": 20260601,
            "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {"coverage": {"enabled": BY_HAND}, "stateful": {"enabled": False}},
            "auth": {"basic": {"username": FUZZER, "password": PASSWORD}},
        }
    ),
)


@pytest.fixture
def test_connection_kept_open():
    """Django closes the database connection when a request starts and ends, as a server should; here that
    connection holds the test's transaction, so keep it open, as Django's own test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzzer(db, settings, test_connection_kept_open):
    # A generated request that fails authentication must not turn the next ones into 429s.
    settings.APIKEYS_AUTH_FAILURES_PER_KEY = 1_000_000
    settings.APIKEYS_AUTH_FAILURES_PER_CLIENT = 1_000_000
    return make_user(FUZZER, superuser=True)


@schema.parametrize()
# One user and one transaction serve every request generated for an operation, which is the point here.
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_every_answer_is_documented_and_no_request_makes_a_server_error(case, fuzzer):
    if case.query and "filter_path" in case.query:
        # An answer cut down by `filter_path` has only the parts the caller named, not the documented shape.
        case.call_and_validate(checks=[not_a_server_error, status_code_conformance])
    else:
        case.call_and_validate(checks=CHECKS)
