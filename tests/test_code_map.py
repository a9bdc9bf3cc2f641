"""The README's code map names every module of the tree exactly once, and nothing that is not there."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def mapped_modules() -> Counter[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Code map", 1)[1].split("\n## ", 1)[0]
    return Counter(re.findall(r"`((?:apikeys|config)/[\w/]+\.py)`", section))


def tree_modules() -> set[str]:
    return {
        str(path.relative_to(ROOT))
        for folder in ("apikeys", "config")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "__init__.py" and "migrations" not in path.parts
    }


def test_every_module_is_in_the_code_map():
    assert sorted(tree_modules() - set(mapped_modules())) == []


def test_the_code_map_names_only_modules_that_exist():
    assert sorted(set(mapped_modules()) - tree_modules()) == []


def test_the_code_map_names_each_module_once():
    assert [name for name, times in mapped_modules().items() if times > 1] == []


def test_no_module_is_over_400_lines():
    """A module that grows past this holds more than one thing (migrations aside: Django writes them)."""
    long = {name: lines for name in tree_modules() if (lines := len((ROOT / name).read_text().splitlines())) > 400}
    assert long == {}
