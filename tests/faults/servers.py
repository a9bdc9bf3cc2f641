"""Servers the fault tests start, break and stop themselves, on free 127.0.0.1 ports: a Redis, a PostgreSQL
(its own `initdb` cluster, run as the `postgres` user when the tests run as root), gunicorn with two
workers on this checkout, and a receiver of the audit webhook. Every wait is bounded; every server is stopped at the end, even after a failure."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SERVER_START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll `condition` until it holds; the seconds it took. Fails the test after `seconds`. For states nothing
    announces (rows another process wrote, workers gunicorn replaced); a server's start is awaited by its own
    words (ReadyLines)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"gave up after {seconds} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - start


class ReadyLines:
    """A server's output (stdout, with stderr merged in), read line by line as it comes on a thread of its own and
    copied to `log` if given. `wait` blocks until `marker` has appeared `count` times (or more, when asked),
    the line the server prints once it serves: no polling, and a server that dies early is reported with its
    last words. Reading goes on afterwards so that the pipe never fills and stalls the server."""

    def __init__(self, process: subprocess.Popen, marker: bytes, count: int = 1, log: Path | None = None) -> None:
        self.process = process
        self.marker = marker
        self.count = count
        self.log = log
        self.seen = 0
        self.ended = False
        self.last_lines: deque[bytes] = deque(maxlen=20)
        self._said = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        output = self.process.stdout
        with open(self.log, "ab") if self.log else contextlib.nullcontext() as log, output:
            for line in output:
                if log:
                    log.write(line)
                    log.flush()
                with self._said:
                    self.last_lines.append(line)
                    if self.marker in line:
                        self.seen += 1
                        self._said.notify_all()
        with self._said:
            self.ended = True
            self._said.notify_all()

    def wait(self, seconds: float, what: str, count: int | None = None) -> None:
        count = count or self.count
        with self._said:
            if not self._said.wait_for(lambda: self.seen >= count or self.ended, seconds):
                raise AssertionError(f"gave up after {seconds} s waiting for {what}")
            if self.seen < count:
                said = b"".join(self.last_lines).decode("utf-8", "replace")
                raise AssertionError(f"{what} stopped before it was ready (exit code {self.process.wait(10)}):\n{said}")


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers), read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


# --- HTTP -----------------------------------------------------------------------------------------------------


def request(
    url: str,
    method: str = "GET",
    auth: str | None = None,
    body: Any = None,
    timeout: float = 10,
    headers: dict[str, str] | None = None,
    source: str | None = None,
) -> tuple[int, dict[str, str], Any]:
    """(status, headers, parsed JSON or text). `source`: the 127.x address to send from."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if auth:
        all_headers["Authorization"] = auth
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    opener = urllib.request.build_opener(_SourceHandler(source)) if source else urllib.request.build_opener()
    try:
        with opener.open(req, timeout=timeout) as response:
            status, answer_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, dict(error.headers), error.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, answer_headers, json.loads(text)
    except ValueError:
        return status, answer_headers, text


class _SourceHandler(urllib.request.HTTPHandler):
    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def http_open(self, req):
        def connect(host: str, **options: Any) -> http.client.HTTPConnection:
            return http.client.HTTPConnection(host, source_address=(self.source, 0), **options)

        return self.do_open(connect, req)


# --- Redis -----------------------------------------------------------------------------------------------------


class Redis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        ReadyLines(self.process, b"Ready to accept connections").wait(SERVER_START_SECONDS, "redis-server")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        """Frozen: connections are accepted by the kernel, nothing answers (as a hung Redis)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


# --- PostgreSQL ------------------------------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise FileNotFoundError(name)


class Postgres:
    """A cluster of its own in a temporary folder. As root, its commands run as the `postgres` user."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="apikeys-faults-pg-"))
        self.data = self.folder / "data"
        self.as_postgres = os.geteuid() == 0

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        if self.as_postgres:
            command = ("runuser", "-u", "postgres", "--", *command)
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)

    def init(self) -> None:
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def create_database(self, name: str) -> str:
        self._run(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


# --- The app -----------------------------------------------------------------------------------------------------


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def app_env(database_url: str, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL=database_url, DJANGO_SECRET_KEY="fault-tests-" + "x" * 40, **extra)
    env.setdefault("APIKEYS_AUTH_FAILURES_PER_KEY", "100000")
    env.setdefault("APIKEYS_AUTH_FAILURES_PER_CLIENT", "100000")
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


class Gunicorn:
    """`gunicorn config.wsgi` with two workers and `config/gunicorn.py`, as `make serve` runs it."""

    def __init__(self, env: dict[str, str], workers: int = 2, log: Path | None = None):
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen | None = None
        self.booted: ReadyLines | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--config",
                "config/gunicorn.py",
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "2",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        # Each worker says so once forked; the arbiter is listening by then (requests queue until a worker
        # has loaded Django).
        self.booted = ReadyLines(self.process, b"Booting worker with pid", self.workers, self.log)
        self.booted.wait(SERVER_START_SECONDS, "gunicorn's workers")

    def kill_workers(self) -> None:
        """SIGKILL every worker, then wait until gunicorn has booted a new one for each (it says so for each)."""
        booted = self.booted.seen
        pids = self.worker_pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        self.booted.wait(SERVER_START_SECONDS, "gunicorn's new workers", count=booted + len(pids))

    def worker_pids(self) -> list[int]:
        return children(self.process.pid)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


# --- An audit webhook receiver -----------------------------------------------------------------------------------


class WebhookReceiver:
    """An HTTP server on a free 127.0.0.1 port taking the audit webhook's batches, as a receiver would: it checks
    each batch's signature, takes the events (`taken`, repeats included, in arrival order) and answers 200, or
    answers the statuses queued in `answers` first (503: not taken). `hold_next()` makes it take the next batch
    and then not answer until `release()` (a receiver that processed a batch whose sender died before hearing so).
    `down()` and `up()` close and reopen its port. Tests wait on it (`wait_for`) rather than sleep."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/audit"
        self.answers: deque[int] = deque()
        self.taken: list[dict] = []
        self.statuses: list[int] = []  # what each request was answered (0: held, not answered)
        self.bad_signatures = 0
        self._holding = False
        self._released = threading.Event()
        self._changed = threading.Condition()
        self._server: http.server.ThreadingHTTPServer | None = None

    def unique_ids(self) -> list[int]:
        """The ids taken, each once, in the order first taken (what a receiver dropping repeats keeps)."""
        return list(dict.fromkeys(event["id"] for event in self.taken))

    def wait_for(self, condition: Callable[[WebhookReceiver], bool], seconds: float, what: str) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self), seconds):
                raise AssertionError(f"gave up after {seconds} s waiting for {what} (answered {self.statuses})")

    def hold_next(self) -> None:
        self._holding, self._released = True, threading.Event()

    def release(self) -> None:
        self._released.set()

    def up(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                receiver._take(self)

            def log_message(self, *args: Any) -> None:
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _take(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers["Content-Length"]))
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(handler.headers.get("X-Apikeys-Signature", ""), expected)
        with self._changed:
            status = self.answers.popleft() if self.answers else (200 if signed else 401)
            self.bad_signatures += not signed
            held = status == 200 and self._holding
            if status == 200:
                self.taken.extend(json.loads(body)["events"])
            self._holding = self._holding and not held
            self.statuses.append(0 if held else status)
            self._changed.notify_all()
            released = self._released
        if held:
            released.wait(SERVER_START_SECONDS)
            return  # never answered: the connection just closes
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
