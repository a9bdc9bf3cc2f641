"""Errors are data: what the API answers and what the console shows come from the error's attributes, never
from reading its text."""

import json

import pytest
from django.test import Client

from apikeys.access.principals import Principal
from apikeys.api.refusals import denial_reason
from apikeys.console.presenters import problem_text
from apikeys.domain.errors import (
    ApiError,
    InvalidRoleDescriptor,
    ParseFailed,
    Requester,
    ValidationFailed,
    reject_unknown,
)
from apikeys.domain.privileges import actions, validate_role_descriptors
from apikeys.models import ApiKey
from apikeys.services import create_managed_api_key
from tests.conftest import basic, make_role, make_user

HTMX = {"HTTP_HX_REQUEST": "true"}
UNKNOWN_FIELD = {"r": {"cluster": [], "colour": "red"}}


def refused_by_privileges(descriptors: dict) -> InvalidRoleDescriptor:
    with pytest.raises(InvalidRoleDescriptor) as refused:
        validate_role_descriptors(descriptors)
    return refused.value


def create_through_the_api(client: Client, alice, descriptors: dict) -> dict:
    body = json.dumps({"name": "k", "role_descriptors": descriptors})
    response = client.post("/_security/api_key", body, "application/json", HTTP_AUTHORIZATION=basic(alice))
    assert response.status_code == 400
    return response.json()["error"]


def create_in_the_console(user, descriptors: dict) -> str:
    client = Client()
    client.force_login(user)
    form = {"name": "k", "restrict": "on", "role_descriptors": json.dumps(descriptors, indent=2)}
    return client.post("/api-keys/create/", form, **HTMX).content.decode()


def test_an_error_deep_in_privileges_reaches_both_surfaces_as_it_was_raised(alice):
    error = refused_by_privileges(UNKNOWN_FIELD)
    assert (error.error_type, error.path) == ("parse_exception", "r.colour")
    assert create_through_the_api(Client(), alice, UNKNOWN_FIELD) == {
        "root_cause": [{"type": error.error_type, "reason": error.reason, "path": error.path}],
        "type": error.error_type,
        "reason": error.reason,
        "path": error.path,
    }
    assert f"{error.message} (at {error.path}) Line 4." in create_in_the_console(alice, UNKNOWN_FIELD)
    assert not ApiKey.objects.exists()


def test_the_type_comes_from_the_error_not_from_its_words(alice, monkeypatch):
    """An error whose reason reads like an unknown field but that says it is an illegal argument is answered
    as an illegal argument: nothing searches the message."""

    def refuse(role, descriptor, prefix):
        raise InvalidRoleDescriptor(
            "failed to parse role [r]. unexpected field [cluster]", path=f"{prefix}cluster", error_type="custom_type"
        )

    monkeypatch.setattr("apikeys.domain.privileges.descriptors._check_privilege_names", refuse)
    error = create_through_the_api(Client(), alice, {"r": {"cluster": []}})
    assert (error["type"], error["path"]) == ("custom_type", "r.cluster")
    page = create_in_the_console(alice, {"r": {"cluster": []}})
    assert "failed to parse role [r]. unexpected field [cluster] (at r.cluster) Line 3." in page


def test_validation_failures_number_their_problems_for_the_api_and_list_them_plainly_for_people():
    error = ValidationFailed("first problem", "second problem")
    assert error.reason == "Validation Failed: 1: first problem;2: second problem;"
    assert error.message == "first problem; second problem"
    assert (error.status, error.error_type) == (400, "action_request_validation_exception")


def test_reject_unknown_names_the_first_unknown_field_and_points_at_it():
    with pytest.raises(ParseFailed) as refused:
        reject_unknown({"b": 1, "zz": 2, "aa": 3}, {"b"}, "[thing] unknown field [{}]")
    assert (refused.value.reason, refused.value.path) == ("[thing] unknown field [aa]", "aa")
    reject_unknown({"b": 1}, {"b", "c"}, "[thing] unknown field [{}]")


def test_every_refusal_is_an_api_error_with_its_status():
    assert issubclass(InvalidRoleDescriptor, ApiError) and issubclass(ParseFailed, ApiError)
    assert ApiError("x").status == 400 and ApiError("x").wire_fields() == {}


def test_a_denied_action_carries_what_was_asked_and_who_asked_and_each_surface_words_it(db):
    dana = make_user("dana", make_role("viewer", {"cluster": ["monitor"]}))
    dana.role_names.append("future_role")
    dana.save()
    denied = Principal.for_user(dana).denied(actions.API_KEY_INVALIDATE, own=True)
    assert (denied.action, denied.own, denied.run_as, denied.status) == (actions.API_KEY_INVALIDATE, True, "", 403)
    assert denied.requester == Requester(
        Requester.USER, "dana", effective_roles=("viewer",), assigned_roles=("future_role", "viewer")
    )
    assert denied.requester.missing_roles == ("future_role",)
    assert "unauthorized" not in denied.reason, "the access layer words nothing"
    assert denial_reason(denied) == (
        "action [cluster:admin/xpack/security/api_key/invalidate] is unauthorized for user [dana] with effective roles "
        "[viewer] (assigned roles [future_role] were not found), this action is granted by the cluster privileges "
        "[manage_own_api_key,manage_api_key,manage_security,all]"
    )
    assert problem_text(denied) == "You do not have permission to do this. It needs the manage_own_api_key privilege."


def test_an_api_key_is_named_by_its_id_and_owning_user_and_a_service_account_without_roles(db):
    key = create_managed_api_key("robot").key  # owned by the service account elastic/console
    by_key = Principal.for_api_key(key).denied(actions.ROLE_GET)
    assert by_key.requester == Requester(Requester.API_KEY, "elastic/console", api_key_id=key.id)
    assert denial_reason(by_key) == (
        f"action [cluster:admin/xpack/security/role/get] is unauthorized for API key id [{key.id}] of user "
        "[elastic/console], this action is granted by the cluster privileges [read_security,manage_security,all]"
    )
    by_account = Principal.for_user(key.owner).denied(actions.ROLE_GET)
    assert denial_reason(by_account) == (
        "action [cluster:admin/xpack/security/role/get] is unauthorized for service account [elastic/console], "
        "this action is granted by the cluster privileges [read_security,manage_security,all]"
    )
