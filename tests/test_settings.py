"""The environment is read in one place (`config/env.py`), every variable is in the README's Configuration table,
and a malformed value is refused with the variable's name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

ROOT = Path(__file__).resolve().parents[1]
# The code that reads the environment through the helper: the settings (gunicorn's and the logs' too) and the app.
READERS = [
    *(ROOT / "config" / name for name in ("settings.py", "gunicorn.py", "logs.py")),
    *sorted((ROOT / "apikeys").rglob("*.py")),
]
# Read by the Makefile's `run` and `serve` targets (gunicorn's address and workers), not by Python.
MAKEFILE_VARIABLES = {"WEB_CONCURRENCY", "BIND", "PORT"}
HELPERS = {"string", "choice", "integer", "number", "boolean", "comma_list", "networks"}


def helper_reads(path: Path) -> set[str]:
    """The names passed to `env.<helper>("NAME", ...)` in one module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "env"
            and node.func.attr in HELPERS
        ):
            first = node.args[0]
            assert isinstance(first, ast.Constant), f"{path.name}: an environment variable named by a constant"
            found.add(first.value)
    return found


def readme_variables() -> set[str]:
    """The variables in the first column of the README's Configuration table."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])}


def test_every_variable_the_project_reads_is_in_the_readme_table():
    read = set().union(*(helper_reads(path) for path in READERS))
    assert read - readme_variables() == set()


def test_every_variable_in_the_readme_table_is_read():
    read = set().union(*(helper_reads(path) for path in READERS), MAKEFILE_VARIABLES)
    assert readme_variables() - read == set()


def test_the_makefile_reads_the_variables_the_readme_says_it_does():
    makefile = (ROOT / "Makefile").read_text()
    assert all(name in makefile for name in MAKEFILE_VARIABLES)


def test_nothing_reads_the_environment_except_through_the_helper():
    inline = [str(path.relative_to(ROOT)) for path in READERS if re.search(r"os\.environ|getenv\(", path.read_text())]
    assert inline == []


def test_a_malformed_integer_is_refused_with_the_variables_name(monkeypatch):
    monkeypatch.setenv("APIKEYS_RETENTION_DAYS", "abc")
    with pytest.raises(ImproperlyConfigured, match=r"APIKEYS_RETENTION_DAYS='abc' .* expected a whole number"):
        env.integer("APIKEYS_RETENTION_DAYS", 7)


def test_a_negative_integer_is_refused(monkeypatch):
    monkeypatch.setenv("APIKEYS_RETENTION_DAYS", "-1")
    with pytest.raises(ImproperlyConfigured, match="APIKEYS_RETENTION_DAYS"):
        env.integer("APIKEYS_RETENTION_DAYS", 7)


def test_a_fractional_integer_is_refused(monkeypatch):
    monkeypatch.setenv("APIKEYS_RETENTION_DAYS", "1.5")
    with pytest.raises(ImproperlyConfigured, match="APIKEYS_RETENTION_DAYS"):
        env.integer("APIKEYS_RETENTION_DAYS", 7)


def test_an_integer_is_read(monkeypatch):
    monkeypatch.setenv("APIKEYS_RETENTION_DAYS", " 30 ")
    assert env.integer("APIKEYS_RETENTION_DAYS", 7) == 30


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "-0.5"])
def test_a_malformed_number_is_refused_with_the_variables_name(monkeypatch, value):
    monkeypatch.setenv("APIKEYS_CACHE_TIMEOUT_SECONDS", value)
    with pytest.raises(ImproperlyConfigured, match=r"APIKEYS_CACHE_TIMEOUT_SECONDS=.* expected a number"):
        env.number("APIKEYS_CACHE_TIMEOUT_SECONDS", 0.25)


def test_a_number_is_read(monkeypatch):
    monkeypatch.setenv("APIKEYS_CACHE_TIMEOUT_SECONDS", "0.5")
    assert env.number("APIKEYS_CACHE_TIMEOUT_SECONDS", 0.25) == 0.5


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("ON", True), ("1", True), ("no", False), ("0", False)]
)
def test_a_boolean_is_read_in_any_of_its_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("DJANGO_DEBUG", value)
    assert env.boolean("DJANGO_DEBUG", not expected) is expected


def test_a_misspelt_boolean_is_refused_rather_than_read_as_false(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "ture")
    with pytest.raises(ImproperlyConfigured, match=r"DJANGO_DEBUG='ture' .* expected true or false"):
        env.boolean("DJANGO_DEBUG", False)


def test_a_value_outside_the_choices_is_refused_naming_them(monkeypatch):
    monkeypatch.setenv("APIKEYS_HASH_ALGORITHM", "md5")
    with pytest.raises(ImproperlyConfigured, match=r"APIKEYS_HASH_ALGORITHM='md5' .* one of ssha256, argon2id"):
        env.choice("APIKEYS_HASH_ALGORITHM", ("ssha256", "argon2id"), "ssha256")


def test_a_choice_is_read_whatever_its_case(monkeypatch):
    monkeypatch.setenv("APIKEYS_HASH_ALGORITHM", "Argon2id")
    assert env.choice("APIKEYS_HASH_ALGORITHM", ("ssha256", "argon2id"), "ssha256") == "argon2id"


@pytest.mark.parametrize("value", ["", "  "])
def test_a_blank_value_means_the_default(monkeypatch, value):
    monkeypatch.setenv("APIKEYS_RETENTION_DAYS", value)
    monkeypatch.setenv("DJANGO_SECRET_KEY", value)
    assert env.integer("APIKEYS_RETENTION_DAYS", 7) == 7
    assert env.string("DJANGO_SECRET_KEY", "fallback") == "fallback"


def test_a_string_is_kept_as_written(monkeypatch):
    monkeypatch.setenv("EMAIL_HOST_PASSWORD", " secret with spaces ")
    assert env.string("EMAIL_HOST_PASSWORD") == " secret with spaces "


def test_a_comma_list_drops_spaces_and_empty_items(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", " a.example , ,b.example,")
    assert env.comma_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1") == ["a.example", "b.example"]


def test_an_unset_variable_means_the_default(monkeypatch):
    monkeypatch.delenv("DJANGO_ALLOWED_HOSTS", raising=False)
    assert env.comma_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost") == ["127.0.0.1", "localhost"]


def test_trusted_proxies_are_read_as_networks(monkeypatch):
    monkeypatch.setenv("APIKEYS_TRUSTED_PROXIES", "10.0.0.0/8, ::1")
    assert [str(n) for n in env.networks("APIKEYS_TRUSTED_PROXIES")] == ["10.0.0.0/8", "::1/128"]


def test_a_malformed_network_is_refused_with_the_variables_name(monkeypatch):
    monkeypatch.setenv("APIKEYS_TRUSTED_PROXIES", "10.0.0.0/8,proxy")
    with pytest.raises(ImproperlyConfigured, match="APIKEYS_TRUSTED_PROXIES='proxy'"):
        env.networks("APIKEYS_TRUSTED_PROXIES")
