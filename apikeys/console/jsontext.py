"""JSON typed by a person: parse it, and find the line where a value sits, so an editor can point there."""

from __future__ import annotations

import json
import re
from typing import Any

_PATH_PART = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


class JsonProblem(ValueError):
    """What is wrong with a JSON text, and the line to point at."""

    def __init__(self, message: str, line: int | None = None, path: str = ""):
        super().__init__(message)
        self.message = message
        self.line = line
        self.path = path


def parse_object(text: str) -> dict[str, Any]:
    """Parse `text` as a JSON object; raise JsonProblem with the line of the syntax error."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"Enter valid JSON. {exc.msg} at line {exc.lineno}, column {exc.colno}.", exc.lineno) from exc
    if not isinstance(value, dict):
        raise JsonProblem("Enter valid JSON: a JSON object ({ ... }) is expected.", 1)
    return value


def line_of(text: str, path: str) -> int | None:
    """The line where the value at `path` (`a.b[0].c`) starts in `text`, or None when it is not there."""
    parts: list[str | int] = [int(i) if i else k for i, k in _PATH_PART.findall(path)]
    decoder = json.JSONDecoder()
    pos = 0

    def skip(at: int) -> int:
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
        return at

    pos = skip(pos)
    for part in parts:
        if pos >= len(text):
            return None
        if text[pos] == "{" and isinstance(part, str):
            pos = skip(pos + 1)
            found = False
            while pos < len(text) and text[pos] != "}":
                key, pos = decoder.raw_decode(text, pos)
                pos = skip(skip(pos) + 1)  # past the colon
                if key == part:
                    found = True
                    break
                _, pos = decoder.raw_decode(text, pos)
                pos = skip(pos)
                if pos < len(text) and text[pos] == ",":
                    pos = skip(pos + 1)
            if not found:
                return text.count("\n", 0, pos) + 1 if pos < len(text) else None
        elif text[pos] == "[" and isinstance(part, int):
            pos = skip(pos + 1)
            for _ in range(part):
                _, pos = decoder.raw_decode(text, pos)
                pos = skip(pos)
                if pos >= len(text) or text[pos] != ",":
                    return None
                pos = skip(pos + 1)
        else:
            return None
    return text.count("\n", 0, pos) + 1
