"""The production server, as `make serve` runs it: `python -m config.serve` (WEB_CONCURRENCY workers on BIND).

gunicorn's sync workers, chosen by measurement (BENCHMARKS.md, issue 22), with `config/gunicorn.py` (the
workers' metrics added up, the audit webhook's sender, the access log as LOG_FORMAT says). The benchmarks start
the server through `command` too, so what they measure is what production runs.
"""

from __future__ import annotations

import os
import sys

from config import env

# Each worker is replaced after about this many requests, so a slow leak never grows without bound.
MAX_REQUESTS = 10000
SERVERS = {
    "sync": ["-m", "gunicorn", "--worker-class", "sync"],
    "gthread": ["-m", "gunicorn", "--worker-class", "gthread", "--threads", "4"],
}


def command(app: str, workers: int, bind: str, server: str | None = None) -> list[str]:
    server = server or os.environ.get("BENCH_SERVER", "sync")
    host, _, port = bind.rpartition(":")
    if server == "granian":
        return [
            *(sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(workers)),
            *("--host", host, "--port", port, "--access-log", "--blocking-threads", "1", app),
        ]
    return [
        sys.executable,
        *SERVERS[server],
        app,
        *("--config", "config/gunicorn.py", "--workers", str(workers), "--bind", bind),
        *("--max-requests", str(MAX_REQUESTS), "--max-requests-jitter", str(MAX_REQUESTS // 10)),
    ]


def main() -> None:
    workers = env.integer("WEB_CONCURRENCY", 4)
    bind = env.string("BIND", f"127.0.0.1:{env.integer('PORT', 8000)}")
    words = command("config.wsgi:application", workers, bind)
    os.execv(words[0], words)


if __name__ == "__main__":
    main()
