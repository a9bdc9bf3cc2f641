"""Side-by-side timing, a WSGI call loop, and the tables and outcomes every figure prints.

Machines are noisy, so a figure never compares numbers taken at different times: both sides of a ratio run
in the same process, one request of each per round, the order flipped every round so drift and cache
warmth hit both alike, and each side's median over many rounds is kept.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

Sampler = Callable[[], float]  # does one request and returns the seconds it took


def timed(call: Callable[[], object]) -> Sampler:
    def sample() -> float:
        begin = time.perf_counter()
        call()
        return time.perf_counter() - begin

    return sample


@dataclass(frozen=True)
class SideBySide:
    """Two sides' samples, taken in pairs: each round ran one request of each, back to back."""

    a: list[float]
    b: list[float]

    @property
    def rounds(self) -> int:
        return len(self.a)

    @property
    def a_median(self) -> float:
        return statistics.median(self.a)

    @property
    def b_median(self) -> float:
        return statistics.median(self.b)

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios a/b: a burst of load from elsewhere slows both requests of a
        round alike, so the pairs keep their ratio where the two medians alone would drift apart."""
        return statistics.median(x / y for x, y in zip(self.a, self.b, strict=True))


def side_by_side(
    a: Sampler, b: Sampler, budget_seconds: float = 2.0, min_rounds: int = 7, max_rounds: int = 2000, warmup: int = 2
) -> SideBySide:
    """As many rounds as fit in `budget_seconds` (within bounds), each sampling both sides once, in an order
    that flips every round."""
    for _ in range(warmup):
        a()
        b()
    samples: tuple[list[float], list[float]] = ([], [])
    started = time.perf_counter()
    rounds = 0
    while rounds < max_rounds and (rounds < min_rounds or time.perf_counter() - started < budget_seconds):
        if rounds % 2 == 0:
            samples[0].append(a())
            samples[1].append(b())
        else:
            samples[1].append(b())
            samples[0].append(a())
        rounds += 1
    return SideBySide(*samples)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(fraction * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class WsgiCaller:
    """Calls a WSGI application the way a server does, `request_started` and `request_finished` included
    (Django's test Client leaves out the per-request database connection handling; a server does not)."""

    def __init__(self, application: Callable[..., Any], host: str = "127.0.0.1"):
        self.application = application
        self.host = host

    def __call__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        remote_addr: str = "127.0.0.1",
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "SERVER_NAME": self.host,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": remote_addr,
            "HTTP_HOST": self.host,
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        status: list[str] = []

        def start_response(line: str, response_headers: list, exc_info: Any = None) -> None:
            status.append(line)

        result = self.application(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            result.close()  # sends request_finished, as a server does
        return int(status[0].split(" ", 1)[0]), content


class UnexpectedAnswer(RuntimeError):
    pass


def expecting(caller: WsgiCaller, status: int, url: str, headers: Mapping[str, str]) -> Callable[[], None]:
    """A GET through `caller` that fails the figure unless answered `status`."""

    def call() -> None:
        code, body = caller("GET", url, headers)
        if code != status:
            raise UnexpectedAnswer(f"GET {url} answered {code}, expected {status}: {body[:300]!r}")

    return call


# --- Outcomes and tables ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One checked figure: `value` (a ratio, seconds or a count) against `target`, its upper bound (its lower
    bound when `floor`: a throughput ratio)."""

    figure: str
    backend: str
    case: str
    value: float
    target: float
    unit: str = "×"
    floor: bool = False

    @property
    def passed(self) -> bool:
        return self.value >= self.target if self.floor else self.value <= self.target

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"


def record(outcome: Outcome) -> Outcome:
    """Append to the run's results file (named by BENCH_RESULTS) for the closing summary."""
    path = os.environ.get("BENCH_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(outcome)) + "\n")
    return outcome


def read_outcomes(path: str) -> list[Outcome]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as source:
        return [Outcome(**json.loads(line)) for line in source if line.strip()]


def backend_label() -> str:
    return os.environ.get("BENCH_BACKEND", "SQLite")


def heading(text: str) -> None:
    print(f"\n### {text}\n", flush=True)


def note(text: str) -> None:
    print(text, flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Markdown table, columns padded so it reads as well in a terminal as in BENCHMARKS.md."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"

    print(line(cells[0]))
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    for row in cells[1:]:
        print(line(row))
    print(flush=True)


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def ratio(value: float) -> str:
    return f"{value:.2f}×"
