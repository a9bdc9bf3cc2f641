"""A gunicorn worker starts warm: `config.wsgi`, which gunicorn imports once in its arbiter before forking every
worker (`preload_app`), imports what a first request would (the URLconf, every view and the clients they use).
Before, each worker, started or replaced after its `--max-requests`, imported about 400 modules while answering
its first request: a third of a second on PostgreSQL, which the requests queued behind it waited for (figure 7's
valid key, p99 above 300 ms). Held here without timing: a process that has imported `config.wsgi` answers the
JSON API's requests, a key created, verified and refused, without importing a module.

And what the arbiter imported is frozen out of the garbage collector before each fork (`config/gunicorn.py`'s
`pre_fork`): a worker's collections never walk it, and a worker's exit, which its replacement waits for, tore it
down in 170-230 ms before, under 40 ms since (measured; held here by what the worker's collector tracks)."""

from __future__ import annotations

import json
import subprocess

from tests.faults.conftest import basic
from tests.faults.servers import PYTHON, ROOT, app_env

FIRST_REQUESTS = """
import base64, json, sys
from benchmarks.measure import WsgiCaller  # a WSGI call as a server makes it, request_finished included
from config.wsgi import application

call = WsgiCaller(application)
before = set(sys.modules)
answers = []
status, content = call("POST", "/_security/api_key", {"Authorization": sys.argv[1]}, b'{"name": "first"}')
answers.append(status)
encoded = json.loads(content)["encoded"]
answers.append(call("GET", "/_security/_authenticate", {"Authorization": "ApiKey " + encoded})[0])
wrong = base64.b64encode(json.loads(content)["id"].encode() + b":not-the-secret").decode()
answers.append(call("GET", "/_security/_authenticate", {"Authorization": "ApiKey " + wrong})[0])
answers.append(call("GET", "/_security/_authenticate")[0])
print(json.dumps({"answers": answers, "imported": sorted(set(sys.modules) - before)}))
"""


def test_a_process_that_imported_the_wsgi_app_answers_the_apis_first_requests_without_importing(sqlite_url):
    done = subprocess.run(
        [PYTHON, "-c", FIRST_REQUESTS, basic("alice")],
        cwd=ROOT,
        env=app_env(sqlite_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout.splitlines()[-1])
    assert said["answers"] == [200, 200, 401, 401]
    # Python's own codecs load on first use wherever they are needed; anything else would be imported by each worker.
    assert [name for name in said["imported"] if not name.startswith("encodings.")] == []


FORKED_WORKER = """
import gc, json, os, runpy
from config.wsgi import application  # gunicorn's arbiter, with preload_app
hooks = runpy.run_path("config/gunicorn.py")
gc.collect()
in_arbiter = len(gc.get_objects())
hooks["pre_fork"](None, None)
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(write, str(len(gc.get_objects())).encode())
    os._exit(0)
os.waitpid(pid, 0)
print(json.dumps({"arbiter": in_arbiter, "worker": int(os.read(read, 100))}))
"""


def test_a_forked_workers_collector_does_not_walk_what_the_arbiter_imported(sqlite_url, tmp_path):
    env = app_env(sqlite_url, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    done = subprocess.run([PYTHON, "-c", FORKED_WORKER], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    tracked = json.loads(done.stdout.splitlines()[-1])
    assert tracked["arbiter"] > 50_000, tracked  # Django, the app and its libraries
    assert tracked["worker"] < 1_000, tracked
