"""Java's regular expressions, checked in Python: whether `java.util.regex.Pattern.compile` would take a pattern
(Elasticsearch compiles a cross-cluster key's certificate identity so). The two syntaxes agree on what such
patterns hold (a Distinguished Name with `.*`, classes, groups and alternations); where Java's differs, the
pattern is rewritten into Python's before `re` compiles it, so that a pattern Java takes is not refused here,
and the few that only Python takes are refused. Nothing is ever matched: only the syntax is checked."""

from __future__ import annotations

import re
import warnings

# Java escapes Python's `re` lacks, as a Python equivalent of the same kind (only the syntax matters).
JAVA_ONLY_ESCAPES = {"h": r"\s", "H": r"\S", "V": r"\S", "R": r"\s", "X": ".", "e": r"\x1b", "z": r"\Z", "G": ""}
# Java's embedded flags that Python does not take (UNIX_LINES, UNICODE_CHARACTER_CLASS, CANON_EQ, UNICODE_CASE:
# Python's patterns are Unicode already, and it refuses to turn that off).
JAVA_ONLY_FLAGS = str.maketrans("", "", "dUcu")
QUANTIFIER = re.compile(r"\{\d+(,\d*)?\}")
FLAGS_GROUP = re.compile(r"\(\?([a-zA-Z]*(?:-[a-zA-Z]*)?)([:)])")


class NotJava(ValueError):
    """Syntax Java refuses though Python would take it."""


def compiles(pattern: str) -> bool:
    """Whether Java would compile `pattern`."""
    try:
        translated = as_python(pattern)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Python's FutureWarnings about `[[` and `--`: Java takes both
            re.compile(translated)
    except (NotJava, re.error, OverflowError, RecursionError):
        return False
    return True


def as_python(pattern: str) -> str:
    """`pattern` in Python's syntax; raise NotJava for syntax only Python has."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            text, i = _escape(pattern, i)
            out.append(text)
            continue
        if in_class:
            in_class = char != "]" or pattern[i - 1] == "["
        elif char == "[":
            in_class = True
        elif char == "{" and not QUANTIFIER.match(pattern, i):
            raise NotJava("Illegal repetition")
        elif pattern.startswith("(?P", i):
            raise NotJava("Unknown inline modifier")
        elif pattern.startswith("(?<", i) and pattern[i + 3 : i + 4] not in ("=", "!"):
            out.append("(?P<")
            i += 3
            continue
        elif flags := FLAGS_GROUP.match(pattern, i):
            kept = flags.group(1).translate(JAVA_ONLY_FLAGS).rstrip("-")
            out.append(f"(?{kept}{flags.group(2)}" if kept or flags.group(2) == ":" else "")
            i = flags.end()
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _escape(pattern: str, i: int) -> tuple[str, int]:
    """The Python form of the escape at `i` (a backslash) and where the pattern goes on."""
    kind = pattern[i + 1 : i + 2]
    if kind == "Q":  # \Q...\E quotes everything between
        end = pattern.find("\\E", i + 2)
        end = len(pattern) if end < 0 else end
        return re.escape(pattern[i + 2 : end]), end + 2
    if kind in ("p", "P"):  # a Unicode class: \pL or \p{Name}
        if pattern[i + 2 : i + 3] == "{":
            end = pattern.find("}", i + 3)
            if end < 0:
                raise NotJava("Unclosed character family")
        else:
            end = i + 2
        return (r"\w" if kind == "p" else r"\W"), end + 1
    if kind == "c":  # \cX: a control character
        return r"\x01", i + 3
    if kind == "k":  # \k<name>: a named back reference
        end = pattern.find(">", i + 2)
        if pattern[i + 2 : i + 3] != "<" or end < 0:
            raise NotJava("\\k is not followed by '<' for named capturing group")
        return f"(?P={pattern[i + 3 : end]})", end + 1
    if kind in JAVA_ONLY_ESCAPES:
        return JAVA_ONLY_ESCAPES[kind], i + 2
    return pattern[i : i + 2], i + 2
