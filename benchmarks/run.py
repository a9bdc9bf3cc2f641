"""`make bench`: every figure of issue 4, each a ratio or a bound measured side by side in one run.

SQLite always; PostgreSQL too when it answers (DATABASE_URL when it names PostgreSQL, else
postgres://postgres@127.0.0.1:5432/apikeys), with Redis as the shared cache when BENCH_REDIS_URL answers.
Each figure runs in its own Django process (`benchmarks.launch`); this process prepares the databases,
describes the machine and sums up. The output is Markdown, ready to paste into BENCHMARKS.md.

    python -m benchmarks.run [--only verification,operations,scale,bulk_invalidation,load,flood] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import redis

from benchmarks.databases import LOG_DIR, PostgresBackend, SqliteBackend, answers
from benchmarks.fixtures import LARGE, SMALL
from benchmarks.measure import heading, read_outcomes, table

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("verification", "operations", "scale", "bulk_invalidation", "load", "flood", "throughput")
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/apikeys"
# A Redis database the benchmark owns: flushed before each PostgreSQL pass so no earlier run's entries count.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"

Backend = SqliteBackend | PostgresBackend


class FigureFailed(RuntimeError):
    pass


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else DEFAULT_POSTGRES_URL


def redis_url() -> str | None:
    url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    parts = urlsplit(url)
    return url if answers(parts.hostname or "127.0.0.1", parts.port or 6379) else None


def redis_version(url: str) -> str:
    return str(redis.Redis.from_url(url).info("server")["redis_version"])


def memory() -> str:
    with open("/proc/meminfo", encoding="utf-8") as source:
        kib = int(next(line for line in source if line.startswith("MemTotal")).split()[1])
    return f"{kib / 1024 / 1024:.1f} GiB"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as source:
            return next(line.split(":", 1)[1].strip() for line in source if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def describe_machine(postgres: PostgresBackend | None, redis: str | None, postgres_asked: bool) -> None:
    heading("Machine")
    missing_postgres = "not answering: skipped" if postgres_asked else "not asked (--backends)"
    missing_redis = "not answering: PostgreSQL pass uses local memory" if postgres else "no PostgreSQL pass"
    rows = [
        ["CPU", f"{os.cpu_count()} × {cpu_model()} (nproc {len(os.sched_getaffinity(0))})"],
        ["memory", memory()],
        ["load average at start", " ".join(f"{n:.2f}" for n in os.getloadavg())],
        ["OS", platform.platform()],
        ["Python", platform.python_version()],
        ["SQLite", SqliteBackend.version()],
        ["PostgreSQL", postgres.version() if postgres else missing_postgres],
        ["Redis", redis_version(redis) if redis else missing_redis],
        ["Django", version("Django")],
        ["gunicorn", version("gunicorn")],
        ["djangorestframework", version("djangorestframework")],
        ["djangorestframework-api-key", version("djangorestframework-api-key")],
    ]
    table(["", ""], rows)


class Pass:
    """One backend's figures, each in its own Django process, all appending to the same results file."""

    def __init__(self, backend: Backend, redis: str | None, results: Path):
        self.backend = backend
        self.redis = redis
        self.results = results
        self.seconds: dict[str, float] = {}  # wall time per module, summed

    def launch(self, module: str, database_url: str, settings: str = "config.settings", **extra: str) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "DATABASE_URL": database_url,
            "BENCH_RESULTS": str(self.results),
            "BENCH_BACKEND": self.backend.name,
            "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
            **extra,
        }
        env.pop("REDIS_URL", None)
        if self.redis:
            env["REDIS_URL"] = self.redis
        # What the app logs (every 401, every created key) would drown the figures: it goes to a file.
        log_path = LOG_DIR / f"{self.backend.name.lower()}-{module}.log"
        started = time.monotonic()
        with open(log_path, "a" if module == "estate" else "w", encoding="utf-8") as log:
            command = [sys.executable, "-m", "benchmarks.launch", module]
            completed = subprocess.run(command, cwd=ROOT, env=env, stderr=log)
        self.seconds[module] = self.seconds.get(module, 0.0) + time.monotonic() - started
        if completed.returncode != 0:
            tail = log_path.read_text(encoding="utf-8").splitlines()[-15:]
            print("\n".join(["```", *tail, "```"]), flush=True)
            raise FigureFailed(f"{module} on {self.backend.name} exited with {completed.returncode} (log: {log_path})")

    def metrics_folder(self) -> Path:
        """An empty folder for prometheus-client's multiprocess files, beside the results."""
        folder = self.results.parent / f"metrics-{self.backend.name.lower()}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        return folder

    def run(self, figures: list[str]) -> list[str]:
        """Run the figures; return what broke (a figure that broke does not stop the others)."""
        heading(f"{self.backend.name}: estates")
        if self.redis:
            redis.Redis.from_url(self.redis).flushdb()
        estates = {size: self.backend.estate_url(size) for size in (SMALL, LARGE)}
        for size, url in estates.items():
            self.launch("estate", url, BENCH_ESTATE_SIZE=str(size))
        launches = {
            "verification": lambda: self.launch(
                "verification", self.backend.throwaway_url("auth"), "benchmarks.drf_settings"
            ),
            "operations": lambda: self.launch(
                "operations",
                self.backend.throwaway_url("operations"),
                LOG_FORMAT="json",
                PROMETHEUS_MULTIPROC_DIR=str(self.metrics_folder()),
            ),
            "scale": lambda: self.launch("scale", estates[SMALL], BENCH_LARGE_DATABASE_URL=estates[LARGE]),
            "bulk_invalidation": lambda: self.launch("bulk_invalidation", self.backend.copy_url(LARGE, "bulk")),
            "load": lambda: self.launch("load", self.backend.copy_url(LARGE, "load")),
            "flood": lambda: self.launch("flood", self.backend.copy_url(LARGE, "flood")),
            "throughput": lambda: self.launch("throughput", self.backend.copy_url(SMALL, "wrk")),
        }
        failures = []
        for figure in figures:
            try:
                launches[figure]()
            except FigureFailed as exc:
                failures.append(str(exc))
        return failures


def amount(value: float, unit: str) -> str:
    if unit == "×":
        return f"{value:.2f}×"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:g} {unit}"


def summarize(results: Path, failures: list[str], passes: list[Pass]) -> None:
    outcomes = read_outcomes(str(results))
    failed = [o for o in outcomes if not o.passed]
    heading("Summary")
    print(f"{len(outcomes)} targets checked: {len(outcomes) - len(failed)} pass, {len(failed)} fail.\n")
    if failed:
        rows = [
            [o.backend, o.figure, o.case, amount(o.value, o.unit), ("≥ " if o.floor else "") + amount(o.target, o.unit)]
            for o in failed
        ]
        table(["backend", "figure", "failing case", "measured", "target"], rows)
    for run in passes:
        spent = ", ".join(f"{module} {seconds:.0f} s" for module, seconds in run.seconds.items())
        print(f"Time on {run.backend.name}: {spent}.")
    for failure in failures:
        print(f"ERROR: {failure}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(FIGURES), help="comma-separated figures to run")
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    args = parser.parse_args(argv)
    figures = [f for f in args.only.split(",") if f]
    unknown = set(figures) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    postgres = PostgresBackend.reachable(postgres_url()) if "postgres" in args.backends else None
    redis = redis_url() if postgres else None
    print(f"## `make bench`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    describe_machine(postgres, redis, "postgres" in args.backends)
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        results = Path(scratch) / "results.jsonl"
        passes: list[Pass] = []
        if "sqlite" in args.backends:
            passes.append(Pass(SqliteBackend(Path(scratch) / "sqlite"), None, results))
        if postgres:
            passes.append(Pass(postgres, redis, results))
        for run in passes:
            try:
                failures += run.run(figures)
            except FigureFailed as exc:
                failures.append(str(exc))
            finally:
                run.backend.clean_up()
        summarize(results, failures, passes)
    load = " ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"Whole run: {time.monotonic() - started:.0f} s; load average at the end: {load}.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
