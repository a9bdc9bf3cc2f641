"""Elasticsearch's name patterns (index names, applications, resources, actions, run-as users): `*` and `?`
wildcards, or a Lucene-style `/regex/`."""

from __future__ import annotations

import re
from functools import cache


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        return re.compile(pattern[1:-1])
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def pattern_matches(pattern: str, name: str) -> bool:
    return _compile(pattern).fullmatch(name) is not None
