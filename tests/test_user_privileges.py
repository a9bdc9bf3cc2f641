"""A user's privileges merged across its roles, as `GET /_security/user/_privileges` answers them."""

from apikeys.domain.privileges import normalize, user_privileges


def held(*descriptors: dict) -> dict:
    return user_privileges({f"role{i}": normalize(d) for i, d in enumerate(descriptors)})


def index(names, privileges, **more) -> dict:
    return {"names": names, "privileges": privileges, **more}


def test_entries_on_the_same_patterns_unite_their_privileges_whatever_the_order_of_the_names():
    answer = held({"indices": [index(["b", "a"], ["read"])]}, {"indices": [index(["a", "b"], ["write", "read"])]})
    assert answer["indices"] == [index(["a", "b"], ["read", "write"], allow_restricted_indices=False)]


def test_entries_on_other_patterns_stay_apart_and_ordinary_indices_come_first():
    answer = held(
        {"indices": [index(["secret*"], ["read"], allow_restricted_indices=True), index(["a"], ["read"])]},
        {"indices": [index(["a", "b"], ["read"])]},
    )
    assert [(e["names"], e["allow_restricted_indices"]) for e in answer["indices"]] == [
        (["a"], False),
        (["a", "b"], False),
        (["secret*"], True),
    ]


def test_the_same_patterns_with_and_without_restricted_indices_stay_apart():
    answer = held({"indices": [index(["*"], ["read"]), index(["*"], ["monitor"], allow_restricted_indices=True)]})
    assert [e["privileges"] for e in answer["indices"]] == [["read"], ["monitor"]]


def test_field_groups_are_collected_until_one_entry_sees_every_field():
    narrow = {"indices": [index(["a"], ["read"], field_security={"grant": ["title"]})]}
    other = {"indices": [index(["a"], ["read"], field_security={"grant": ["*"], "except": ["secret"]})]}
    assert held(narrow, other)["indices"][0]["field_security"] == [
        {"grant": ["*"], "except": ["secret"]},
        {"grant": ["title"]},
    ]
    everything = {"indices": [index(["a"], ["read"], field_security={"grant": ["*"]})]}
    assert "field_security" not in held(narrow, everything)["indices"][0]
    assert "field_security" not in held(narrow, {"indices": [index(["a"], ["write"])]})["indices"][0]


def test_queries_are_collected_until_one_entry_has_none():
    a = {"indices": [index(["a"], ["read"], query={"term": {"team": "a"}})]}
    b = {"indices": [index(["a"], ["read"], query='{"term":{"team":"b"}}')]}
    assert held(a, b, a)["indices"][0]["query"] == ['{"term":{"team":"a"}}', '{"term":{"team":"b"}}']
    assert "query" not in held(a, {"indices": [index(["a"], ["read"])]})["indices"][0]


def test_a_role_whose_only_index_entry_is_none_adds_nothing():
    answer = held({"indices": [index(["a"], ["none"])]}, {"indices": [index(["a"], ["read"])]})
    assert answer["indices"] == [index(["a"], ["read"], allow_restricted_indices=False)]
    two = held({"indices": [index(["a"], ["none"]), index(["b"], ["read"])]})
    assert [e["names"] for e in two["indices"]] == [["a"], ["b"]]


def test_applications_unite_privileges_on_the_same_resources_then_resources_of_the_same_privileges():
    answer = held(
        {"applications": [{"application": "app", "privileges": ["read"], "resources": ["r1", "r2"]}]},
        {"applications": [{"application": "app", "privileges": ["write"], "resources": ["r2", "r1"]}]},
        {"applications": [{"application": "app", "privileges": ["write", "read"], "resources": ["r3"]}]},
        {"applications": [{"application": "other", "privileges": ["read"], "resources": ["r1"]}]},
    )
    assert answer["applications"] == [
        {"application": "app", "privileges": ["read", "write"], "resources": ["r1", "r2", "r3"]},
        {"application": "other", "privileges": ["read"], "resources": ["r1"]},
    ]


def test_cluster_privileges_and_run_as_are_sorted_and_distinct():
    answer = held({"cluster": ["monitor", "all"], "run_as": ["z", "a"]}, {"cluster": ["monitor"], "run_as": ["a"]})
    assert answer["cluster"] == ["all", "monitor"] and answer["run_as"] == ["a", "z"]


def test_each_global_privilege_is_listed_on_its_own():
    answer = held(
        {
            "global": {
                "application": {"manage": {"applications": ["app"]}},
                "profile": {"write": {"applications": ["kibana"]}},
            }
        },
        {"global": {"application": {"manage": {"applications": ["app"]}}}},
    )
    assert answer["global"] == [
        {"application": {"manage": {"applications": ["app"]}}},
        {"profile": {"write": {"applications": ["kibana"]}}},
    ]


def test_remote_entries_are_listed_one_by_one_and_only_when_held():
    remote = {"names": ["b", "a"], "privileges": ["read"], "clusters": ["z", "eu"]}
    answer = held(
        {"remote_indices": [remote], "remote_cluster": [{"privileges": ["monitor_enrich"], "clusters": ["eu"]}]},
        {"remote_indices": [remote, {**remote, "names": ["a", "b"], "privileges": ["monitor"]}]},
    )
    assert answer["remote_indices"] == [
        {"names": ["a", "b"], "privileges": ["read"], "allow_restricted_indices": False, "clusters": ["eu", "z"]},
        {"names": ["a", "b"], "privileges": ["monitor"], "allow_restricted_indices": False, "clusters": ["eu", "z"]},
    ]
    assert answer["remote_cluster"] == [{"privileges": ["monitor_enrich"], "clusters": ["eu"]}]
    assert list(held({"cluster": ["all"]})) == ["cluster", "global", "indices", "applications", "run_as"]
