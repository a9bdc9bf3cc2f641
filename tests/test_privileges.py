import pytest

from apikeys.domain import privileges as p


def role(**descriptor):
    return p.normalize(descriptor)


def test_it_normalizes_index_to_indices_and_fills_in_defaults():
    normalized = p.validate_role_descriptors({"r": {"index": [{"names": "books", "privileges": ["read"]}]}})
    assert normalized == {
        "r": {
            "cluster": [],
            "indices": [{"names": ["books"], "privileges": ["read"], "allow_restricted_indices": False}],
            "applications": [],
            "run_as": [],
            "metadata": {},
            "transient_metadata": {"enabled": True},
        }
    }


def test_normalizing_twice_changes_nothing():
    once = p.validate_role_descriptors(
        {"r": {"cluster": ["monitor"], "indices": [{"names": ["a"], "privileges": ["all"]}]}}
    )
    assert p.validate_role_descriptors(once) == once


@pytest.mark.parametrize(
    ("descriptors", "message", "path"),
    [
        ({"r": {"foo": 1}}, "failed to parse role [r]. unexpected field [foo]", "r.foo"),
        ({"r": {"cluster": "all"}}, "expected array", "r.cluster"),
        ({"r": {"cluster": ["bogus"]}}, "unknown cluster privilege [bogus]", "r.cluster[0]"),
        ({"r": {"indices": [{"names": [], "privileges": ["read"]}]}}, "non-empty array", "r.indices[0].names"),
        (
            {"r": {"indices": [{"names": ["a"], "privileges": ["reed"]}]}},
            "unknown index privilege [reed]",
            "r.indices[0].privileges[0]",
        ),
        ({"r": {"indices": [{"names": ["a"]}]}}, "'privileges' is a required property", "r.indices[0]"),
        (
            {"r": {"indices": [{"names": ["/[/"], "privileges": ["read"]}]}},
            "invalid index name pattern",
            "r.indices[0].names[0]",
        ),
        ({"r": {"metadata": {"_x": 1}}}, "may not start with [_]", "r.metadata._x"),
        ({"r": []}, "expected object", "r"),
    ],
)
def test_it_reports_the_failing_path(descriptors, message, path):
    with pytest.raises(p.InvalidRoleDescriptor) as error:
        p.validate_role_descriptors(descriptors)
    assert message in str(error.value)
    assert error.value.path == path


def test_all_implies_every_cluster_privilege():
    roles = {"r": role(cluster=["all"])}
    assert all(p.set_has_cluster(roles, name) for name in p.CLUSTER_PRIVILEGES)


def test_manage_security_implies_the_api_key_privileges():
    roles = {"r": role(cluster=["manage_security"])}
    for name in ("manage_api_key", "manage_own_api_key", "read_security", "grant_api_key"):
        assert p.set_has_cluster(roles, name)


def test_manage_api_key_implies_manage_own_but_not_read_security():
    roles = {"r": role(cluster=["manage_api_key"])}
    assert p.set_has_cluster(roles, "manage_own_api_key")
    assert not p.set_has_cluster(roles, "read_security")
    assert not p.set_has_cluster(roles, "manage_security")


def test_manage_does_not_include_security():
    roles = {"r": role(cluster=["manage"])}
    assert p.set_has_cluster(roles, "monitor")
    assert not p.set_has_cluster(roles, "manage_own_api_key")
    assert not p.set_has_cluster(roles, "read_security")


def test_read_security_grants_nothing_that_writes():
    roles = {"r": role(cluster=["read_security"])}
    assert not p.set_has_cluster(roles, "manage_own_api_key")


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("*", "anything", True),
        ("logs-*", "logs-2024", True),
        ("logs-*", "metrics", False),
        ("book?", "books", True),
        ("books", "books", True),
        ("books", "books2", False),
        ("/logs-[0-9]+/", "logs-42", True),
        ("/logs-[0-9]+/", "logs-x", False),
        ("a.b", "aXb", False),
    ],
)
def test_index_patterns_match_wildcards_and_regexes(pattern, name, expected):
    roles = {"r": role(indices=[{"names": [pattern], "privileges": ["read"]}])}
    assert p.set_has_index(roles, name, "read") is expected


def test_index_privileges_follow_their_hierarchy():
    roles = {"r": role(indices=[{"names": ["*"], "privileges": ["write"]}])}
    assert p.set_has_index(roles, "x", "index")
    assert p.set_has_index(roles, "x", "create_doc")
    assert not p.set_has_index(roles, "x", "read")
    assert p.set_has_index({"r": role(indices=[{"names": ["*"], "privileges": ["all"]}])}, "x", "manage")


def test_restricted_indices_need_allow_restricted_indices():
    roles = {"r": role(indices=[{"names": ["*"], "privileges": ["read"]}])}
    assert not p.set_has_index(roles, ".security-7", "read")
    allowed = {"r": role(indices=[{"names": ["*"], "privileges": ["read"], "allow_restricted_indices": True}])}
    assert p.set_has_index(allowed, ".security-7", "read")


def test_a_key_holds_only_what_both_its_descriptors_and_its_owner_grant():
    owner = {
        "o": role(cluster=["manage_own_api_key"], indices=[{"names": ["books", "logs-*"], "privileges": ["read"]}])
    }
    key = {"k": role(cluster=["all"], indices=[{"names": ["books"], "privileges": ["all"]}])}
    sets = p.key_role_sets(key, owner)
    assert p.has_cluster(sets, "manage_own_api_key")
    assert not p.has_cluster(sets, "manage_api_key")
    assert p.has_index(sets, "books", "read")
    assert not p.has_index(sets, "books", "write")
    assert not p.has_index(sets, "logs-1", "read")


def test_a_key_without_descriptors_holds_its_owner_snapshot():
    owner = {"o": role(cluster=["monitor"])}
    assert p.key_role_sets({}, owner) == [owner]
    assert p.has_cluster(p.key_role_sets({}, owner), "monitor")


def test_no_role_sets_grant_nothing():
    assert not p.has_cluster([], "monitor")


def test_has_privileges_answers_each_requested_privilege():
    sets = [{"r": role(cluster=["monitor"], indices=[{"names": ["books"], "privileges": ["read"]}])}]
    answer = p.has_privileges(
        sets, {"cluster": ["monitor", "manage"], "index": [{"names": ["books", "x"], "privileges": ["read"]}]}
    )
    assert answer == {
        "has_all_requested": False,
        "cluster": {"monitor": True, "manage": False},
        "index": {"books": {"read": True}, "x": {"read": False}},
        "application": {},
    }


def test_has_privileges_rejects_unknown_privileges_and_fields():
    with pytest.raises(p.InvalidRoleDescriptor):
        p.has_privileges([], {"cluster": ["nope"]})
    with pytest.raises(p.InvalidRoleDescriptor):
        p.has_privileges([], {"clusters": ["monitor"]})


def test_application_privileges_match_application_resource_and_privilege():
    sets = [{"r": role(applications=[{"application": "kibana-*", "privileges": ["read"], "resources": ["space:*"]}])}]
    answer = p.has_privileges(
        sets, {"application": [{"application": "kibana-x", "privileges": ["read", "write"], "resources": ["space:a"]}]}
    )
    assert answer["application"] == {"kibana-x": {"space:a": {"read": True, "write": False}}}


def test_a_descriptor_without_privileges_grants_nothing():
    assert p.grants_nothing({})
    assert p.grants_nothing(role())
    assert not p.grants_nothing(role(cluster=["monitor"]))


def test_run_as_follows_patterns():
    sets = [{"r": role(run_as=["svc-*"])}]
    assert p.can_run_as(sets, "svc-a")
    assert not p.can_run_as(sets, "alice")


def test_effective_cluster_privileges_are_the_intersection():
    sets = [{"k": role(cluster=["monitor", "manage_own_api_key"])}, {"o": role(cluster=["manage"])}]
    assert p.effective_cluster_privileges(sets) == ["monitor"]
