"""The mustache of role templates, as far as Elasticsearch documents it: `{{name}}` and dotted names
(`{{realm.name}}`, `{{metadata.uid}}`), `{{{name}}}` unescaped, sections over lists and values (`{{#groups}}`
with `{{.}}`), inverted sections (`{{^name}}`), comments, and Elasticsearch's functions `{{#tojson}}name{{/tojson}}`
and `{{#join}}name{{/join}}` (`{{#join delimiter=' '}}`). Values are escaped for JSON, as Elasticsearch's
mustache engine escapes them, so that a `json` template stays JSON whatever a user's name holds."""

from __future__ import annotations

import json
import re
from typing import Any

TAG = re.compile(r"\{\{(\{)?\s*([#^/!&]?)\s*(.*?)\s*(\})?\}\}", re.DOTALL)
FUNCTIONS = ("tojson", "toJson", "join")
MAX_LENGTH = 4096


class TemplateError(ValueError):
    """A template that cannot be compiled: an unclosed or mismatched section."""


def _tokens(source: str) -> list[tuple[str, str, str]]:
    """(kind, name, text): kind "" for text, "name"/"raw" for values, "#"/"^"/"/" for sections."""
    tokens, at = [], 0
    for match in TAG.finditer(source):
        if match.start() > at:
            tokens.append(("", "", source[at : match.start()]))
        triple, sigil, name = match.group(1), match.group(2), match.group(3)
        if sigil == "!":
            pass
        elif triple or sigil == "&":
            tokens.append(("raw", name, ""))
        elif sigil in "#^/" and sigil:
            tokens.append((sigil, name, ""))
        else:
            tokens.append(("name", name, ""))
        at = match.end()
    if at < len(source):
        tokens.append(("", "", source[at:]))
    return tokens


def _tree(source: str) -> list:
    """Tokens nested by section: a section is (kind, name, children)."""
    if len(source) > MAX_LENGTH:
        raise TemplateError(f"the template is longer than {MAX_LENGTH} characters")
    root: list = []
    stack: list[tuple[str, list]] = [("", root)]
    for kind, name, text in _tokens(source):
        if kind in ("#", "^"):
            children: list = []
            stack[-1][1].append((kind, name, children))
            stack.append((name, children))
        elif kind == "/":
            if len(stack) == 1 or stack[-1][0] != name:
                raise TemplateError(f"section [{name}] closed without being opened")
            stack.pop()
        else:
            stack[-1][1].append((kind, name, text))
    if len(stack) > 1:
        raise TemplateError(f"section [{stack[-1][0]}] is not closed")
    return root


def check(source: str) -> None:
    """Refuse a template that cannot be compiled (`TemplateError`)."""
    _tree(source)


def _lookup(name: str, stack: list[Any]) -> Any:
    if name == ".":
        return stack[-1]
    first, *rest = name.split(".")
    for scope in reversed(stack):
        if isinstance(scope, dict) and first in scope:
            value = scope[first]
            for part in rest:
                value = value.get(part) if isinstance(value, dict) else None
            return value
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _escaped(value: Any) -> str:
    return json.dumps(_text(value))[1:-1]


def _function(name: str, children: list, stack: list[Any]) -> str | None:
    """Elasticsearch's mustache functions: their body names a value."""
    word, _, options = name.partition(" ")
    if word not in FUNCTIONS:
        return None
    inner = "".join(text for kind, _, text in children if kind == "").strip()
    value = _lookup(inner, stack)
    if word in ("tojson", "toJson"):
        return json.dumps(value, separators=(",", ":"))
    delimiter = re.search(r"delimiter\s*=\s*'([^']*)'", options)
    items = value if isinstance(value, list) else ([] if value is None else [value])
    return (delimiter.group(1) if delimiter else ",").join(_text(v) for v in items)


def _render(nodes: list, stack: list[Any]) -> str:
    out = []
    for kind, name, rest in nodes:
        if kind == "":
            out.append(rest)
        elif kind == "name":
            out.append(_escaped(_lookup(name, stack)))
        elif kind == "raw":
            out.append(_text(_lookup(name, stack)))
        elif kind == "#":
            done = _function(name, rest, stack)
            if done is not None:
                out.append(done)
                continue
            value = _lookup(name, stack)
            if isinstance(value, list):
                out.extend(_render(rest, [*stack, item]) for item in value)
            elif value:
                out.append(_render(rest, [*stack, value]))
        elif kind == "^":
            value = _lookup(name, stack)
            if not value:
                out.append(_render(rest, stack))
    return "".join(out)


def render(source: str, model: dict[str, Any]) -> str:
    return _render(_tree(source), [model])
