"""Property tests with Hypothesis: the query DSL against the reference evaluator, duration parsing, and role
descriptor validation and normalization.

Profiles (tests/hypothesis_profiles.py): `ci`, the default, is derandomized with modest example counts, so
every run tries the same examples and the module takes seconds; `dev` tries ten times as many, at random:

    HYPOTHESIS_PROFILE=dev .venv/bin/python -m pytest tests/test_properties.py
"""

from __future__ import annotations

import base64
import hashlib
import re
import string
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apikeys.domain.durations import UNIT_SECONDS, InvalidDuration, parse_duration
from apikeys.domain.privileges import (
    CLUSTER_PRIVILEGES,
    INDEX_PRIVILEGES,
    ROLE_DESCRIPTOR_SCHEMA,
    InvalidRoleDescriptor,
    normalize,
    sections,
    validate_role_descriptor,
    validate_role_descriptors,
)
from apikeys.domain.privileges.names import REMOTE_CLUSTER_PRIVILEGES, WORKFLOWS
from apikeys.models import NATIVE_REALM, ApiKey, is_managed
from apikeys.query import search
from tests.conftest import make_user
from tests.hypothesis_profiles import examples
from tests.reference_query import matches

# --- (a) The query DSL against the reference evaluator ----------------------------------------------------

MAX_ROWS = 8
IDS = [base64.urlsafe_b64encode(hashlib.sha256(str(i).encode()).digest()[:15]).decode() for i in range(MAX_ROWS)]
# Letters in both cases (one of them non-ASCII) and every character the DSL or SQL treats specially.
CHARS = "aAbéÉ_%*?\\- "
KEYWORD_FIELDS = ["name", "type", "username", "realm_name"]
DATE_FIELDS = ["creation", "expiration", "invalidation"]
METADATA_FIELDS = ["metadata.team", "metadata.tier", "metadata.env.region", "metadata.managed"]
TEXT_FIELDS = KEYWORD_FIELDS + METADATA_FIELDS

words = st.text(CHARS, max_size=4)
leaf_values = st.one_of(words, st.integers(-3, 12), st.booleans(), st.sampled_from([0.5, 1.5, 10.25]), st.none())
minutes = st.integers(-3 * 1440, 3 * 1440)

rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.text(CHARS, min_size=1, max_size=5),
            "type": st.sampled_from(["rest", "cross_cluster"]),
            "username": st.sampled_from(["alice", "bob"]),
            "realm_name": st.sampled_from([NATIVE_REALM, "file"]),
            "creation": st.integers(-3 * 1440, 0),
            "expiration": st.none() | minutes,
            "invalidation": st.none() | st.integers(-3 * 1440, 0),
            "metadata": st.fixed_dictionaries(
                {},
                optional={
                    "team": leaf_values,
                    "tier": leaf_values,
                    "env": leaf_values | st.fixed_dictionaries({}, optional={"region": leaf_values}),
                    "managed": st.sampled_from([True, False, "true", "false", 1]),
                },
            ),
        }
    ),
    max_size=MAX_ROWS,
)


def at(now, offset_minutes: int | None):
    """Whole minutes from `now`, then 30 seconds more: never on a boundary that `now-Xm` or `/m` can draw."""
    return None if offset_minutes is None else now + timedelta(minutes=offset_minutes, seconds=30)


def date_values(now) -> st.SearchStrategy:
    moment = st.builds(lambda m: at(now, m), minutes)
    return st.one_of(
        moment.map(lambda d: int(d.timestamp() * 1000)),
        moment.map(lambda d: str(int(d.timestamp() * 1000))),
        moment.map(lambda d: d.isoformat()),
        st.builds(lambda n, unit: f"now{n:+d}{unit}", st.integers(-72, 72), st.sampled_from("mhHd")),
        st.builds(
            lambda n, unit, rounding: f"now{n:+d}{unit}/{rounding}",
            st.integers(-3, 3),
            st.sampled_from("hd"),
            st.sampled_from("mhHd"),
        ),
        st.just("now"),
    )


def queries(now) -> st.SearchStrategy:
    """Queries over every allowed field, nested in `bool` clauses up to a few levels deep."""
    text = st.one_of(words, st.integers(-3, 12), st.booleans())
    dates = date_values(now)
    flags = st.sampled_from([True, False, "true", "false"])
    ci = st.booleans()

    def term_like(clause: str, value_key: str) -> st.SearchStrategy:
        plain = st.one_of(
            st.tuples(st.sampled_from(TEXT_FIELDS), text),
            st.tuples(st.sampled_from(DATE_FIELDS), dates),
            st.tuples(st.just("invalidated"), flags),
        ).map(lambda fv: {clause: {fv[0]: fv[1]}})
        wrapped = st.builds(
            lambda f, v, c: {clause: {f: {value_key: v, "case_insensitive": c}}},
            st.sampled_from(TEXT_FIELDS),
            text,
            ci,
        )
        return plain | wrapped if clause == "term" else plain | wrapped.map(lambda q: _drop_case(q, clause))

    patterns = st.text(CHARS, max_size=5)
    leaves = st.one_of(
        st.just({"match_all": {}}),
        st.builds(lambda v: {"ids": {"values": v}}, st.lists(st.sampled_from(IDS) | st.text(max_size=3), max_size=3)),
        term_like("term", "value"),
        term_like("match", "query"),
        st.one_of(
            st.builds(lambda f, v: {"terms": {f: v}}, st.sampled_from(TEXT_FIELDS), st.lists(text, max_size=3)),
            st.builds(lambda f, v: {"terms": {f: v}}, st.sampled_from(DATE_FIELDS), st.lists(dates, max_size=3)),
        ),
        st.builds(
            lambda f, v, c: {"prefix": {f: {"value": v, "case_insensitive": c}}},
            st.sampled_from(TEXT_FIELDS),
            words,
            ci,
        ),
        st.builds(lambda f, v: {"prefix": {f: v}}, st.sampled_from(TEXT_FIELDS), words),
        st.builds(
            lambda f, key, v, c: {"wildcard": {f: {key: v, "case_insensitive": c}}},
            st.sampled_from(TEXT_FIELDS),
            st.sampled_from(["value", "wildcard"]),
            patterns,
            ci,
        ),
        st.builds(lambda f, v: {"wildcard": {f: v}}, st.sampled_from(TEXT_FIELDS), patterns),
        st.builds(
            lambda f, b: {"range": {f: b}},
            st.sampled_from(TEXT_FIELDS),
            st.dictionaries(st.sampled_from(["gt", "gte", "lt", "lte"]), text, min_size=1),
        ),
        st.builds(
            lambda f, b: {"range": {f: b}},
            st.sampled_from(DATE_FIELDS),
            st.dictionaries(st.sampled_from(["gt", "gte", "lt", "lte"]), dates, min_size=1),
        ),
        st.builds(
            lambda f: {"exists": {"field": f}},
            st.sampled_from(
                [*KEYWORD_FIELDS, *DATE_FIELDS, "invalidated", "metadata", "metadata.env", *METADATA_FIELDS]
            ),
        ),
    )

    return st.recursive(leaves, bools, max_leaves=8)


def bools(children: st.SearchStrategy) -> st.SearchStrategy:
    """`bool` queries over `children`, with or without `minimum_should_match`."""
    clause_list = st.lists(children, max_size=3) | children
    return st.builds(
        lambda body, minimum: {"bool": {**body, **minimum}},
        st.fixed_dictionaries(
            {},
            optional={"must": clause_list, "filter": clause_list, "should": clause_list, "must_not": clause_list},
        ),
        st.fixed_dictionaries(
            {}, optional={"minimum_should_match": st.integers(-2, 3) | st.sampled_from(["1", "-1", "50%", "-50%"])}
        ),
    )


def _drop_case(query: dict, clause: str) -> dict:
    """`match` takes no `case_insensitive`."""
    ((field, options),) = query[clause].items()
    return {clause: {field: {k: v for k, v in options.items() if k != "case_insensitive"}}}


def as_reference(row: dict[str, Any], key_id: str, now) -> dict[str, Any]:
    return {
        **row,
        "id": key_id,
        "creation": at(now, row["creation"]),
        "expiration": at(now, row["expiration"]),
        "invalidation": at(now, row["invalidation"]),
        "invalidated": row["invalidation"] is not None,
    }


@pytest.fixture
def owners(db):
    return {"alice": make_user("alice"), "bob": make_user("bob")}


@settings(max_examples=examples(1.5), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy, data=st.data())
def test_the_query_dsl_selects_the_keys_the_reference_selects(owners, rows, data):
    now = timezone.now().replace(microsecond=0)
    keys = [as_reference(row, key_id, now) for row, key_id in zip(rows, IDS, strict=False)]
    # Each example's rows go in with one INSERT and come out with the rollback of a savepoint.
    with transaction.atomic():
        ApiKey.objects.bulk_create(
            ApiKey(
                id=key["id"],
                name=key["name"],
                type=key["type"],
                owner=owners[key["username"]],
                username=key["username"],
                realm=key["realm_name"],
                creation=key["creation"],
                expiration=key["expiration"],
                invalidated=key["invalidated"],
                invalidation=key["invalidation"],
                managed=is_managed(key["metadata"]),
                hash="{SSHA256}unused",
                metadata=key["metadata"],
            )
            for key in keys
        )
        for query in data.draw(st.lists(queries(now), min_size=1, max_size=4), label="queries"):
            found = {k.id for k in search(ApiKey.objects.all(), {"query": query, "size": MAX_ROWS}).keys}
            assert found == {k["id"] for k in keys if matches(query, k, now)}, query
        transaction.set_rollback(True)


# --- (b) Durations ----------------------------------------------------------------------------------------

UNITS = list(UNIT_SECONDS)
# Whole seconds in `n` of each unit, in integers: the expected value must not share the parser's arithmetic.
SECONDS = {"nanos": (1, 10**9), "micros": (1, 10**6), "ms": (1, 1000), "s": (1, 1), "m": (60, 1), "h": (3600, 1)}
SECONDS["d"] = (86400, 1)
PREFIX = "failed to parse setting [expiration] with value [{}] as a time value"
# What parse_duration accepts: digits (any script's, as Java's Long.parseLong, which Elasticsearch uses) and
# a unit in any case, with spaces around and between.
VALID = re.compile(r"\s*(\d+)\s*(nanos|micros|ms|s|m|h|d)\s*", re.IGNORECASE)
blanks = st.text(" \t", max_size=2)


@settings(max_examples=examples(2))
@given(
    amount=st.integers(0, 10**12), unit=st.sampled_from(UNITS), upper=st.booleans(), spaces=st.tuples(blanks, blanks)
)
def test_a_valid_duration_gives_its_whole_seconds(amount, unit, upper, spaces):
    text = f"{spaces[0]}{amount}{unit.upper() if upper else unit}{spaces[1]}"
    multiplier, divisor = SECONDS[unit]
    assert parse_duration(text) == amount * multiplier // divisor


@settings(max_examples=examples(2))
@given(value=st.text(string.digits + "-.+ smhdnacrosiDMH" + string.printable[62:80], max_size=10) | st.text())
def test_anything_else_is_refused_with_elasticsearchs_words(value):
    valid = VALID.fullmatch(value)
    if valid and int(valid.group(1)) <= 10**12:
        assert parse_duration(value) >= 0
        return
    with pytest.raises(InvalidDuration) as refused:
        parse_duration(value)
    assert str(refused.value).startswith(PREFIX.format(value) + ": ")


@settings(max_examples=examples(0.5))
@given(value=st.none() | st.integers() | st.floats() | st.booleans() | st.lists(st.text(), max_size=2))
def test_a_duration_that_is_no_string_is_refused_with_elasticsearchs_words(value):
    with pytest.raises(InvalidDuration) as refused:
        parse_duration(value)
    assert str(refused.value).startswith(PREFIX.format(value) + ": ")


# --- (c) Role descriptors ---------------------------------------------------------------------------------

names = st.text(string.ascii_letters + string.digits + "-_.*?", min_size=1, max_size=8)
strings = st.text(max_size=6)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), strings)
metadata = st.dictionaries(st.text(min_size=1, max_size=5).filter(lambda k: not k.startswith("_")), scalars, max_size=3)


def index_entries(remote: bool) -> st.SearchStrategy:
    required = {
        "names": names | st.lists(names, min_size=1, max_size=3),
        "privileges": st.lists(
            st.sampled_from(sorted(INDEX_PRIVILEGES - (sections.FAILURE_STORE_PRIVILEGES if remote else set()))),
            min_size=1,
            max_size=3,
        ),
    }
    if remote:
        required["clusters"] = st.lists(names, min_size=1, max_size=2)
    return st.fixed_dictionaries(
        required,
        optional={
            "field_security": st.fixed_dictionaries(
                {}, optional={"grant": st.lists(names, max_size=2), "except": st.lists(names, max_size=2)}
            ),
            "query": strings | st.dictionaries(names, scalars, max_size=2),
            "allow_restricted_indices": st.booleans(),
        },
    )


descriptors_without_indices = st.fixed_dictionaries(
    {},
    optional={
        "cluster": st.lists(st.sampled_from(sorted(CLUSTER_PRIVILEGES)) | st.just("cluster:monitor/main"), max_size=3),
        "applications": st.lists(
            st.fixed_dictionaries(
                {
                    "application": names,
                    "privileges": st.lists(names, min_size=1, max_size=2),
                    "resources": st.lists(names, min_size=1, max_size=2),
                }
            ),
            max_size=2,
        ),
        "run_as": st.lists(names, max_size=2),
        "metadata": metadata,
        "transient_metadata": st.dictionaries(names, scalars, max_size=2),
        "description": strings,
        "global": st.fixed_dictionaries(
            {},
            optional={
                "application": st.fixed_dictionaries(
                    {"manage": st.fixed_dictionaries({"applications": st.lists(names)})}
                ),
                "profile": st.just({})
                | st.fixed_dictionaries({"write": st.fixed_dictionaries({"applications": st.lists(names)})}),
                "role": st.fixed_dictionaries(
                    {
                        "manage": st.fixed_dictionaries(
                            {
                                "indices": st.lists(
                                    st.fixed_dictionaries(
                                        {
                                            "names": st.lists(names, min_size=1, max_size=2),
                                            "privileges": st.lists(
                                                st.sampled_from(sorted(INDEX_PRIVILEGES)), min_size=1
                                            ),
                                        }
                                    ),
                                    max_size=2,
                                )
                            }
                        )
                    }
                ),
            },
        ),
        "remote_indices": st.lists(index_entries(remote=True), max_size=2),
        "remote_cluster": st.lists(
            st.fixed_dictionaries(
                {
                    "clusters": st.lists(names, min_size=1, max_size=2),
                    "privileges": st.lists(st.sampled_from(sorted(REMOTE_CLUSTER_PRIVILEGES)), min_size=1),
                }
            ),
            max_size=2,
        ),
    },
)
restrictions = st.fixed_dictionaries(
    {"workflows": st.lists(st.sampled_from(sorted(WORKFLOWS)), min_size=1, max_size=2)}
)
descriptors = st.builds(
    lambda descriptor, key, entries: descriptor if entries is None else {**descriptor, key: entries},
    descriptors_without_indices,
    st.sampled_from(["indices", "index"]),
    st.none() | st.lists(index_entries(remote=False), max_size=2),
)
role_names = st.text(string.ascii_letters + "_-", min_size=1, max_size=8)


@settings(max_examples=examples(2))
@given(name=role_names, descriptor=descriptors)
def test_a_valid_descriptor_validates_to_its_normal_form_which_is_a_fixed_point(name, descriptor):
    normal = validate_role_descriptor(name, descriptor)
    assert normal == normalize(descriptor)
    assert normalize(normal) == normal
    assert validate_role_descriptor(name, normal) == normal
    assert validate_role_descriptors({name: descriptor}) == {name: normal}


@settings(max_examples=examples(1))
@given(name=role_names, descriptor=descriptors, restriction=restrictions)
def test_a_key_descriptor_restricted_to_workflows_validates_to_a_fixed_point_a_role_may_not_be(
    name, descriptor, restriction
):
    restricted = {**descriptor, "restriction": restriction}
    normal = validate_role_descriptors({name: restricted})
    assert normal[name]["restriction"] == restriction
    assert validate_role_descriptors(normal) == normal
    with pytest.raises(InvalidRoleDescriptor) as refused:
        validate_role_descriptor(name, restricted)
    assert str(refused.value) == f"failed to parse role [{name}]. unexpected field [restriction]"


FIELDS = sorted(ROLE_DESCRIPTOR_SCHEMA["properties"])
# For each field the schema alone checks, a value of a type it never takes (the sections Elasticsearch parses
# field by field have their own words: tests/test_privileges.py).
WRONG_TYPES = {
    field: (5 if spec["type"] in ("array", "object") else ["not", "a", "string"])
    for field, spec in ROLE_DESCRIPTOR_SCHEMA["properties"].items()
    if field not in sections.CHECKS
}


@settings(max_examples=examples(1))
@given(
    name=role_names,
    descriptor=descriptors,
    field=st.text(string.ascii_lowercase + "_", min_size=1, max_size=10).filter(lambda f: f not in FIELDS),
)
def test_an_unknown_field_is_refused_with_its_path(name, descriptor, field):
    with pytest.raises(InvalidRoleDescriptor) as refused:
        validate_role_descriptor(name, {**descriptor, field: []})
    assert f"unexpected field [{field}]" in str(refused.value)
    assert refused.value.path == field
    with pytest.raises(InvalidRoleDescriptor) as refused:
        validate_role_descriptors({name: {**descriptor, field: []}})
    assert refused.value.path == f"{name}.{field}"


@settings(max_examples=examples(1))
@given(name=role_names, descriptor=descriptors, field=st.sampled_from(sorted(WRONG_TYPES)))
def test_a_field_of_the_wrong_type_is_refused_with_its_path(name, descriptor, field):
    mutated = {**descriptor, field: WRONG_TYPES[field]}
    mutated.pop("index" if field == "indices" else "indices" if field == "index" else None, None)
    with pytest.raises(InvalidRoleDescriptor) as refused:
        validate_role_descriptor(name, mutated)
    assert refused.value.path == field, str(refused.value)
    assert str(refused.value).startswith(f"failed to parse role [{name}]. [{field}] ")


@settings(max_examples=examples(1))
@given(name=role_names, descriptor=descriptors, data=st.data())
def test_an_unknown_field_inside_an_index_entry_is_refused_with_its_path(name, descriptor, data):
    entries = data.draw(st.lists(index_entries(remote=False), min_size=1, max_size=2), label="indices")
    position = data.draw(st.integers(0, len(entries) - 1), label="position")
    entries[position] = {**entries[position], "colour": "red"}
    descriptor = {k: v for k, v in descriptor.items() if k != "index"} | {"indices": entries}
    with pytest.raises(InvalidRoleDescriptor) as refused:
        validate_role_descriptor(name, descriptor)
    assert "unexpected field [colour]" in str(refused.value)
    assert refused.value.path == f"indices[{position}].colour"
