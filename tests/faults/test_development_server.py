"""`make run`'s server: Django's `runserver` with its reloader, as a new user starts it. It runs the system checks in
one thread while its reloader imports the URLconf in another, and a module both imported at once stopped it
starting more often than not on a machine with only the app's own packages (`apikeys.apps.
import_what_the_checks_import`). Here it is started several times, and the rule that keeps the two threads apart
is checked without depending on timing."""

from __future__ import annotations

import os
import signal
import subprocess

from tests.faults.servers import PYTHON, ROOT, SERVER_START_SECONDS, ReadyLines, app_env, free_port, request

STARTS = 4


def test_make_runs_server_starts_every_time_and_serves_the_sign_in_page(sqlite_url):
    env = app_env(sqlite_url)
    for attempt in range(1, STARTS + 1):
        port = free_port()
        # Its own session: the reloader runs the server in a child process, and both are stopped at the end.
        server = subprocess.Popen(
            [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--nostatic"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            said = ReadyLines(server, b"Quit the server with")
            said.wait(SERVER_START_SECONDS, f"runserver, start {attempt} of {STARTS}")
            status, _, body = request(f"http://127.0.0.1:{port}/accounts/login/")
            assert status == 200, f"start {attempt}: the sign-in page answered {status}"
            assert "Sign in" in body
            words = b"".join(said.last_lines).decode("utf-8", "replace")
            assert "Traceback" not in words and "Exception in thread" not in words, words
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)


# Django set up as `manage.py` sets it up; then every system check but the URLconf's (which imports the URLconf, the
# module whose lock the other thread holds while importing it: waiting for it is safe), run as runserver's check
# thread runs them. It prints the modules of ours those checks imported.
CHECKS_IMPORT = """
import sys
import django
django.setup()
from django.core.checks import registry
before = set(sys.modules)
for check in registry.registry.get_checks():
    if "urls" not in getattr(check, "tags", ()):
        check(app_configs=None, databases=None)
print(sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("apikeys", "config")))
"""


def test_the_system_checks_import_nothing_of_ours_that_setting_django_up_has_not(sqlite_url):
    """The race above, held without luck: while the reloader imports the URLconf, the check thread must not import
    a module of ours for the first time (a module both threads import, each holding what the other waits for)."""
    done = subprocess.run(
        [PYTHON, "-c", CHECKS_IMPORT], cwd=ROOT, env=app_env(sqlite_url), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"the checks imported {done.stdout.strip()}"
