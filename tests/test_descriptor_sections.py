"""A descriptor's `global`, `remote_indices`, `remote_cluster` and `restriction` sections: refused in
Elasticsearch's words with the failing path, echoed in its normal form, granting nothing locally but what
`global` scopes (which no endpoint here reads)."""

import pytest

from apikeys.domain import privileges as p

KEY_ONLY = {"workflows": ["search_application_query"]}


def refusal(descriptor, key: bool = False) -> p.InvalidRoleDescriptor:
    with pytest.raises(p.InvalidRoleDescriptor) as refused:
        p.validate_role_descriptors({"r": descriptor}) if key else p.validate_role_descriptor("r", descriptor)
    return refused.value


PRIVILEGE = "x_content_parse_exception"
PARSE = "parse_exception"
ILLEGAL = "illegal_argument_exception"
VALIDATION = "action_request_validation_exception"


@pytest.mark.parametrize(
    ("descriptor", "error_type", "reason", "path"),
    [
        ({"global": []}, PRIVILEGE, "expected [START_OBJECT] but found [START_ARRAY] instead", "global"),
        (
            {"global": {"cluster": {}}},
            PRIVILEGE,
            "expected one of [application,profile,role] but found [cluster] instead",
            "global.cluster",
        ),
        (
            {"global": {"application": {"read": {}}}},
            PRIVILEGE,
            "expected field name [manage] but found [read] instead",
            "global.application.read",
        ),
        (
            {"global": {"profile": {"write": "kibana"}}},
            PRIVILEGE,
            "expected [START_OBJECT] but found [VALUE_STRING] instead",
            "global.profile.write",
        ),
        (
            {"global": {"profile": {"write": {}}}},
            PRIVILEGE,
            "expected [FIELD_NAME] but found [END_OBJECT] instead",
            "global.profile.write",
        ),
        (
            {"global": {"profile": {"write": {"apps": []}}}},
            PRIVILEGE,
            "expected field name [applications] but found [apps] instead",
            "global.profile.write.apps",
        ),
        (
            {"global": {"application": {"manage": {"applications": "kibana"}}}},
            PRIVILEGE,
            "expected [START_ARRAY] but found [VALUE_STRING] instead",
            "global.application.manage.applications",
        ),
        (
            {"global": {"role": {"manage": {"indices": [{"names": ["a"], "privileges": ["read"], "x": []}]}}}},
            PRIVILEGE,
            "expected [END_OBJECT] but found [FIELD_NAME] instead",
            "global.role.manage.indices[0].x",
        ),
        (
            {"global": {"role": {"manage": {"indices": [{"names": ["a"], "privileges": ["reed"]}]}}}},
            ILLEGAL,
            "unknown index privilege [reed]",
            "global.role.manage.indices[0].privileges[0]",
        ),
    ],
)
def test_global_is_refused_as_its_privilege_parser_refuses_it(descriptor, error_type, reason, path):
    refused = refusal(descriptor)
    assert refused.error_type == error_type
    assert str(refused) == (f"failed to parse privilege. {reason}" if error_type == PRIVILEGE else reason)
    assert refused.path == path


def test_global_names_a_value_that_is_not_a_string_by_its_token():
    refused = refusal({"global": {"application": {"manage": {"applications": ["kibana", 7]}}}})
    assert (refused.error_type, str(refused)) == (
        PARSE,
        "could not parse [applications] field. expected a string array but one of the value in the array is "
        "[VALUE_NUMBER]",
    )


def test_global_is_echoed_with_every_category_once_any_holds_a_privilege():
    normal = p.validate_role_descriptor(
        "r", {"global": {"profile": {"write": {"applications": ["kibana*", "kibana*", "app"]}}, "application": {}}}
    )
    assert normal["global"] == {
        "application": {},
        "profile": {"write": {"applications": ["kibana*", "app"]}},
        "role": {},
    }
    assert list(normal)[:3] == ["cluster", "global", "indices"]
    assert "global" not in p.validate_role_descriptor("r", {"global": {"profile": {}, "role": {}}})


def test_managing_roles_by_index_pattern_is_echoed_as_given():
    managed = {"indices": [{"privileges": ["read"], "names": ["team-*"]}]}
    normal = p.validate_role_descriptor("r", {"global": {"role": {"manage": managed}}})
    assert normal["global"]["role"] == {"manage": {"indices": [{"names": ["team-*"], "privileges": ["read"]}]}}


@pytest.mark.parametrize(
    ("descriptor", "error_type", "reason", "path"),
    [
        (
            {"remote_indices": {}},
            PARSE,
            "failed to parse remote indices privileges for role [r]. expected field [remote_indices] value to be "
            "an array, but found [START_OBJECT] instead",
            "remote_indices",
        ),
        (
            {"remote_indices": [{"names": ["a"], "privileges": ["read"]}]},
            PARSE,
            "failed to parse remote indices privileges for role [r]. missing required [clusters] field",
            "remote_indices[0]",
        ),
        (
            {"remote_indices": [{"names": ["a"], "privileges": ["read"], "clusters": ["eu"], "colour": "red"}]},
            PARSE,
            "failed to parse remote indices privileges for role [r]. unexpected field [colour]",
            "remote_indices[0].colour",
        ),
        (
            {"remote_indices": [{"names": ["a"], "privileges": ["read"], "clusters": []}]},
            ILLEGAL,
            "the [remote_indices] sub-field [clusters] must refer to at least one cluster alias or cluster alias "
            "pattern",
            "remote_indices[0].clusters",
        ),
        (
            {"remote_indices": [{"names": ["a"], "privileges": ["read"], "clusters": ["eu", ""]}]},
            VALIDATION,
            "Validation Failed: 1: remote index cluster alias cannot be an empty string;",
            "remote_indices[0].clusters",
        ),
        (
            {"remote_indices": [{"names": ["a"], "privileges": ["read_failure_store"], "clusters": ["eu"]}]},
            VALIDATION,
            "Validation Failed: 1: remote index privileges cannot contain privileges that grant access to the "
            "failure store;",
            "remote_indices[0].privileges",
        ),
        (
            {"remote_indices": [{"names": ["a"], "privileges": ["reed"], "clusters": ["eu"]}]},
            ILLEGAL,
            "failed to parse role [r]. unknown index privilege [reed]",
            "remote_indices[0].privileges[0]",
        ),
    ],
)
def test_remote_indices_are_refused_in_elasticsearchs_words(descriptor, error_type, reason, path):
    refused = refusal(descriptor)
    assert (refused.error_type, str(refused), refused.path) == (error_type, reason, path)


REMOTE_CLUSTER = "failed to parse remote_cluster for role [r]. "


@pytest.mark.parametrize(
    ("entries", "error_type", "reason", "path"),
    [
        ({}, PARSE, REMOTE_CLUSTER + "expected field [remote_cluster] value to be an array", "remote_cluster"),
        (
            [{"privileges": ["monitor_stats", "read_pipeline"], "clusters": ["*"]}],
            PARSE,
            REMOTE_CLUSTER + "[monitor_enrich, monitor_stats] are the only values allowed for [privileges] within "
            "[remote_cluster]. Found [monitor_stats, read_pipeline]",
            "remote_cluster[0].privileges",
        ),
        (
            [{"privileges": ["monitor_enrich"]}],
            PARSE,
            REMOTE_CLUSTER + "[clusters] must be defined when [privileges] are defined",
            "remote_cluster[0]",
        ),
        (
            [{"clusters": ["eu"]}],
            PARSE,
            REMOTE_CLUSTER + "[privileges] must be defined when [clusters] are defined",
            "remote_cluster[0]",
        ),
        ([{}], ILLEGAL, "remote cluster groups must not be null or empty", "remote_cluster[0]"),
        (
            [{"privileges": [], "clusters": ["eu"]}],
            ILLEGAL,
            "remote cluster groups must not be null or empty",
            "remote_cluster[0]",
        ),
        (
            [{"privileges": ["monitor_enrich"], "clusters": [" "]}],
            ILLEGAL,
            "remote_cluster clusters aliases must contain valid non-empty, non-null values",
            "remote_cluster[0].clusters",
        ),
        (
            [{"privileges": ["monitor_enrich"], "clusters": ["eu"], "names": ["a"]}],
            PARSE,
            REMOTE_CLUSTER + "unexpected field [names]",
            "remote_cluster[0].names",
        ),
        (
            [{"privileges": "monitor_enrich", "clusters": ["eu"]}],
            PARSE,
            REMOTE_CLUSTER + "could not parse [privileges] field. expected a string array but found [VALUE_STRING] "
            "value instead",
            "remote_cluster[0].privileges",
        ),
    ],
)
def test_remote_cluster_is_refused_in_elasticsearchs_words(entries, error_type, reason, path):
    refused = refusal({"remote_cluster": entries})
    assert (refused.error_type, str(refused), refused.path) == (error_type, reason, path)


def test_remote_sections_are_echoed_in_elasticsearchs_field_order_and_only_when_held():
    normal = p.validate_role_descriptor(
        "r",
        {
            "remote_cluster": [{"clusters": ["eu"], "privileges": ["monitor_enrich"]}],
            "remote_indices": [
                {"clusters": ["eu"], "names": "logs", "privileges": ["read"], "query": {"match_all": {}}}
            ],
        },
    )
    assert list(normal)[-2:] == ["remote_indices", "remote_cluster"]
    assert normal["remote_indices"] == [
        {
            "names": ["logs"],
            "privileges": ["read"],
            "query": '{"match_all":{}}',
            "allow_restricted_indices": False,
            "clusters": ["eu"],
        }
    ]
    assert list(normal["remote_indices"][0])[-1] == "clusters"
    assert list(normal["remote_cluster"][0]) == ["privileges", "clusters"]
    empty = p.validate_role_descriptor("r", {"remote_indices": [], "remote_cluster": []})
    assert "remote_indices" not in empty and "remote_cluster" not in empty


RESTRICTION = "failed to parse restriction for role [r]. "


@pytest.mark.parametrize(
    ("restriction", "error_type", "reason", "path"),
    [
        (["x"], PARSE, RESTRICTION + "expected an object but found [START_ARRAY] instead", "r.restriction"),
        (
            {"workflows": None},
            PARSE,
            RESTRICTION + "could not parse [workflows] field. expected a string array but found null value instead",
            "r.restriction.workflows",
        ),
        ({"workflows": []}, PARSE, RESTRICTION + "[workflows] cannot be an empty array", "r.restriction.workflows"),
        ({"apps": ["x"]}, PARSE, RESTRICTION + "unexpected field [apps]", "r.restriction.apps"),
        (
            {"workflows": ["search_application_query", "search_application"]},
            VALIDATION,
            "Validation Failed: 1: Unknown workflow [search_application]. A workflow must be one of the predefined "
            "workflow names [search_application_query].;",
            "r.restriction.workflows[1]",
        ),
    ],
)
def test_a_keys_restriction_is_refused_in_elasticsearchs_words(restriction, error_type, reason, path):
    refused = refusal({"restriction": restriction}, key=True)
    assert (refused.error_type, str(refused), refused.path) == (error_type, reason, path)


def test_a_role_may_not_be_restricted():
    refused = refusal({"restriction": KEY_ONLY})
    assert (refused.error_type, str(refused), refused.path) == (
        PARSE,
        "failed to parse role [r]. unexpected field [restriction]",
        "restriction",
    )


def test_a_key_is_restricted_through_one_descriptor_only():
    with pytest.raises(p.InvalidRoleDescriptor, match="^more than one role descriptor with restriction"):
        p.validate_role_descriptors({"a": {"restriction": KEY_ONLY}, "b": {"restriction": KEY_ONLY}})
    with pytest.raises(p.InvalidRoleDescriptor, match="^combining role descriptors with and without restriction"):
        p.validate_role_descriptors({"a": {"restriction": KEY_ONLY}, "b": {"cluster": ["monitor"]}})


def test_a_restriction_is_echoed_last_but_for_the_description_and_an_empty_one_not_at_all():
    normal = p.validate_role_descriptors({"r": {"description": "d", "restriction": KEY_ONLY, "cluster": ["monitor"]}})
    assert list(normal["r"])[-2:] == ["restriction", "description"]
    assert normal["r"]["restriction"] == KEY_ONLY
    assert "restriction" not in p.validate_role_descriptors({"r": {"restriction": {}}})["r"]


def test_a_restricted_or_globally_privileged_descriptor_is_not_empty():
    assert not p.grants_nothing(p.normalize({"restriction": KEY_ONLY}))
    assert not p.grants_nothing(p.normalize({"global": {"application": {"manage": {"applications": []}}}}))
    assert p.grants_nothing(p.normalize({"global": {"profile": {}}, "restriction": {}, "remote_cluster": []}))


def test_remote_sections_grant_nothing_on_this_cluster():
    remote_only = {
        "r": p.normalize(
            {
                "remote_indices": [{"names": ["logs"], "privileges": ["all"], "clusters": ["*"]}],
                "remote_cluster": [{"privileges": ["monitor_enrich"], "clusters": ["*"]}],
            }
        )
    }
    answer = p.has_privileges(
        [remote_only], {"cluster": ["monitor_enrich"], "index": [{"names": ["logs"], "privileges": ["read"]}]}
    )
    assert answer["has_all_requested"] is False
    assert answer["cluster"] == {"monitor_enrich": False} and answer["index"] == {"logs": {"read": False}}


def test_a_keys_remote_sections_leave_what_it_holds_here_the_intersection():
    owner = {"o": p.normalize({"indices": [{"names": ["logs"], "privileges": ["read"]}], "cluster": ["monitor"]})}
    key = p.validate_role_descriptors(
        {
            "k": {
                "indices": [{"names": ["logs", "books"], "privileges": ["read"]}],
                "remote_indices": [{"names": ["books"], "privileges": ["read"], "clusters": ["eu"]}],
                "remote_cluster": [{"privileges": ["monitor_stats"], "clusters": ["eu"]}],
                "global": {"application": {"manage": {"applications": ["*"]}}},
            }
        }
    )
    sets = p.key_role_sets(key, owner)
    assert p.has_index(sets, "logs", "read") and not p.has_index(sets, "books", "read")
    assert not p.has_cluster(sets, "monitor") and not p.has_cluster(sets, "monitor_stats")
