"""GET /openapi.json: a valid OpenAPI 3.1 document that covers every route and describes real answers."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from apikeys import query, services
from apikeys.api import COMMON_PARAMS, openapi_view
from apikeys.api import urls as api_urls
from apikeys.domain.privileges import HAS_PRIVILEGES_SCHEMA, ROLE_DESCRIPTOR_SCHEMA
from apikeys.models import KeyType
from apikeys.query.dsl import CLAUSES
from apikeys.records.usage import INTERVALS, Refusal
from apikeys.services import app_privileges, create, roll, tokens, users
from tests.conftest import OWN_KEYS_ROLE, basic, make_role, make_user, new_key

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE")
DOCUMENT_URI = "urn:apikeys:openapi"
ERROR_STATUSES = {"400", "401", "405", "413", "429"}


@pytest.fixture
def document(client: Client) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def api_routes() -> dict[str, Callable]:
    """Every route of apikeys/api/urls.py, as an OpenAPI path template, and its view."""
    (included,) = (
        p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.urlconf_module is api_urls
    )
    prefix = "/" + str(included.pattern)
    return {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", prefix + str(p.pattern)): p.callback
        for p in included.url_patterns
        if p.callback is not openapi_view
    }


def accepted_methods(client: Client, template: str, view: Callable) -> set[str]:
    """The methods a route answers with anything but 405 (asked anonymously, so nothing runs)."""
    url = re.sub(r"\{\w+\}", "x", template)
    assert resolve(url).func is view
    return {m.lower() for m in HTTP_METHODS if client.generic(m, url).status_code != 405}


def accepted_params(view: Callable, method: str) -> set[str]:
    """The query parameters an `endpoint` view takes for a method (others are a 400); none for the operators'
    endpoints (`api/operations.py`), which read no parameter."""
    if view.__module__ == "apikeys.api.operations":
        return set()
    params = inspect.getclosurevars(view.__wrapped__).nonlocals["params"]
    return params.get(method.upper(), set()) | COMMON_PARAMS


def operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def parameter_names(document: dict[str, Any], operation: dict[str, Any], location: str) -> set[str]:
    parameters = [resolve_ref(document, p) for p in operation["parameters"]]
    return {p["name"] for p in parameters if p["in"] == location}


def resolve_ref(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in node:
        return node
    for part in node["$ref"].removeprefix("#/").split("/"):
        document = document[part]
    return document


def pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def check_answer(document: dict[str, Any], path: str, method: str, response) -> None:
    """Validate a real answer against the schema the document gives for its path, method and status."""
    status = str(response.status_code)
    assert response["Content-Type"] == "application/json"
    answer = document["paths"][path][method]["responses"][status]
    where = (
        answer["$ref"].removeprefix("#/").split("/")
        if "$ref" in answer
        else ["paths", path, method, "responses", status]
    )
    schema_pointer = pointer(*where, "content", "application/json", "schema")
    registry = Registry().with_resource(DOCUMENT_URI, Resource(document, DRAFT202012))
    Draft202012Validator({"$ref": DOCUMENT_URI + schema_pointer}, registry=registry).validate(response.json())


def create_key(api, user, **body: Any) -> dict[str, Any]:
    response = api("POST", "/_security/api_key", basic(user), {"name": "reports", **body})
    assert response.status_code == 200
    return response.json()


# --- The document -----------------------------------------------------------------------------------------


def test_it_serves_the_document_without_credentials(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["openapi"] == "3.1.0"


def test_it_is_a_valid_openapi_3_1_document(document):
    validate(document, cls=OpenAPIV31SpecValidator)


def test_it_documents_exactly_the_routes_of_the_api(document):
    assert set(document["paths"]) == set(api_routes())


def test_it_documents_every_method_each_route_accepts(client, db, document):
    documented = {path: set(document["paths"].get(path, {})) for path in api_routes()}
    accepted = {path: accepted_methods(client, path, view) for path, view in api_routes().items()}
    assert documented == accepted


def test_it_documents_the_query_parameters_each_operation_takes(document):
    views = api_routes()
    documented = {(path, method): parameter_names(document, op, "query") for path, method, op in operations(document)}
    accepted = {(path, method): accepted_params(views[path], method) for path, method, _ in operations(document)}
    assert documented == accepted


def test_it_documents_every_path_parameter(document):
    documented = {(path, method): parameter_names(document, op, "path") for path, method, op in operations(document)}
    in_paths = {(path, method): set(re.findall(r"\{(\w+)\}", path)) for path, method, _ in operations(document)}
    assert documented == in_paths


def test_it_documents_the_error_answers_of_every_operation(document):
    missing = {
        (path, method): ERROR_STATUSES - set(op["responses"])
        for path, method, op in operations(document)
        if path.startswith("/_security") and ERROR_STATUSES - set(op["responses"])
    }
    assert missing == {}


def test_it_describes_every_error_answer_as_an_elasticsearch_error(document):
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, method, operation in operations(document):
        for status in (ERROR_STATUSES | {"403"}) & set(operation["responses"]):
            schema = resolve_ref(document, operation["responses"][status])["content"]["application/json"]["schema"]
            if (path, method, status) == ("/_security/oauth2/token", "post", "400"):
                # The token endpoint refuses grants in OAuth2's shape, as Elasticsearch's does.
                assert schema == {"anyOf": [error, {"$ref": "#/components/schemas/TokenError"}]}
            else:
                assert schema == error


def test_it_documents_403_for_every_operation_and_why_where_no_privilege_is_checked(document):
    def refusal(op):
        return op["responses"].get("403", {}).get("$ref", "").rsplit("/", 1)[-1]

    unchecked = {(path, method) for path, method, op in operations(document) if refusal(op) != "Forbidden"}
    assert unchecked == {
        ("/_security/_authenticate", "get"),
        ("/_security/user/_has_privileges", "get"),
        ("/_security/user/_has_privileges", "post"),
        ("/_security/user/_privileges", "get"),
        ("/_security/api_key/_format", "get"),
        ("/_security/api_key/_leaked", "post"),  # signed, not authenticated: no 403 at all
        ("/healthz", "get"),  # nobody is asked who they are
        ("/readyz", "get"),
    }
    anonymous = {("/_security/api_key/_leaked", "post"), ("/healthz", "get"), ("/readyz", "get")}
    assert {
        refusal(operation)
        for path, method, operation in operations(document)
        if (path, method) in unchecked - anonymous
    } == {"RestrictedByWorkflow"}
    for path, method in anonymous:
        assert "403" not in document["paths"][path][method]["responses"]


def test_it_defines_a_schema_for_every_body(document):
    names = {
        "ApiKey",
        "CreateApiKeyRequest",
        "CreateApiKeyResponse",
        "QueryRequest",
        "QueryResponse",
        "UpdateRequest",
        "BulkUpdateResponse",
        "InvalidateRequest",
        "InvalidateResponse",
        "GrantRequest",
        "AuthenticateResponse",
        "HasPrivilegesRequest",
        "HasPrivilegesResponse",
        "Role",
        "User",
        "ErrorResponse",
        "ClearCacheResponse",
    }
    assert names <= set(document["components"]["schemas"])


def test_it_gives_every_operation_a_unique_id(document):
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))


def test_it_declares_api_key_and_basic_authentication(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header", "name": "Authorization"}
    assert "ApiKey <encoded>" in schemes["ApiKey"]["description"]
    assert schemes["basic"]["type"] == "http"
    assert schemes["basic"]["scheme"] == "basic"
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert document["security"] == [{"ApiKey": []}, {"basic": []}, {"bearer": []}]


@pytest.mark.parametrize(
    ("schema", "fields"),
    [
        ("CreateApiKeyRequest", services.CREATE_FIELDS),
        ("UpdateRequest", services.UPDATE_FIELDS),
        ("BulkUpdateRequest", services.UPDATE_FIELDS | {"ids"}),
        ("InvalidateRequest", services.INVALIDATE_FIELDS),
        ("GrantRequest", services.GRANT_FIELDS),
        ("BulkGrantRequest", services.BULK_GRANT_FIELDS),
        ("CreateCrossClusterApiKeyRequest", services.CROSS_CLUSTER_FIELDS),
        ("UpdateCrossClusterApiKeyRequest", services.CROSS_CLUSTER_UPDATE_FIELDS),
        ("TokenRequest", tokens.TOKEN_FIELDS),
        ("InvalidateTokenRequest", tokens.INVALIDATE_TOKEN_FIELDS),
        ("QueryRequest", query.SEARCH_FIELDS),
        ("PutUserRequest", users.USER_FIELDS),
        ("ChangePasswordRequest", users.PASSWORD_FIELDS),
        ("PrivilegeDefinition", app_privileges.PRIVILEGE_FIELDS),
        ("RollApiKeyRequest", roll.ROLL_FIELDS),
        ("CloneApiKeyRequest", services.CLONE_FIELDS),
    ],
)
def test_it_documents_the_fields_each_request_body_accepts(document, schema, fields):
    assert set(document["components"]["schemas"][schema]["properties"]) == fields


@pytest.mark.parametrize(
    ("where", "values"),
    [
        (("ApiKey", "properties", "type", "enum"), KeyType.values),
        (("GrantRequest", "properties", "grant_type", "enum"), list(create.GRANT_CREDENTIALS)),
        (("TokenRequest", "properties", "grant_type", "enum"), list(tokens.GRANT_FIELDS)),
        (("UsageResponse", "properties", "interval", "enum"), list(INTERVALS)),
        (("UsageRefusals", "propertyNames", "enum"), Refusal.values),
    ],
)
def test_it_enumerates_what_the_code_enumerates(document, where, values):
    schema = document["components"]["schemas"]
    for step in where:
        schema = schema[step]
    assert schema == values


def test_it_names_every_query_clause_and_field(document):
    described = document["components"]["schemas"]["QueryRequest"]["properties"]["query"]["anyOf"][0]["description"]
    assert all(name in described for name in [*CLAUSES, *query.FIELDS])


def test_it_names_only_settings_that_exist(document):
    named = set(re.findall(r"APIKEYS_[A-Z_]+", json.dumps(document)))
    assert named
    assert {name for name in named if not hasattr(settings, name)} == set()


def usage_params(document: dict[str, Any]) -> dict[str, Any]:
    """The usage endpoint's query parameters: name -> schema."""
    operation = document["paths"]["/_security/api_key/{key_id}/_usage"]["get"]
    return {p["name"]: p["schema"] for p in (resolve_ref(document, p) for p in operation["parameters"])}


def test_it_documents_the_usage_defaults_the_api_applies(api, alice, document):
    key = create_key(api, alice)
    response = api("GET", f"/_security/api_key/{key['id']}/_usage", basic(alice))
    params = usage_params(document)
    assert response.json()["interval"] == params["interval"]["default"]
    assert len(response.json()["buckets"]) == params["days"]["default"]
    check_answer(document, "/_security/api_key/{key_id}/_usage", "get", response)


def test_it_documents_the_longest_usage_period_the_api_accepts(api, alice, document):
    key = create_key(api, alice)
    params = usage_params(document)
    longest = params["days"]["maximum"]
    url = f"/_security/api_key/{key['id']}/_usage"
    assert api("GET", url, basic(alice), days=longest).status_code == 200
    assert api("GET", url, basic(alice), days=longest + 1).status_code == 400


def test_it_reuses_the_role_descriptor_schema_the_api_validates_with(document):
    schemas = document["components"]["schemas"]
    assert schemas["RoleDescriptor"]["properties"] == ROLE_DESCRIPTOR_SCHEMA["properties"]
    assert schemas["HasPrivilegesRequest"] == HAS_PRIVILEGES_SCHEMA


# --- Real answers match their documented schemas ----------------------------------------------------------


def test_it_describes_the_create_answer_without_expiration(api, alice, document):
    response = api("POST", "/_security/api_key", basic(alice), {"name": "reports"})
    assert "expiration" not in response.json()
    check_answer(document, "/_security/api_key", "post", response)


def test_it_describes_the_create_answer_with_expiration(api, alice, document):
    response = api("PUT", "/_security/api_key", basic(alice), {"name": "reports", "expiration": "1d"})
    assert "expiration" in response.json()
    check_answer(document, "/_security/api_key", "put", response)


def test_it_describes_the_get_answer(api, alice, document):
    create_key(api, alice, role_descriptors={"read": OWN_KEYS_ROLE}, metadata={"team": "a"})
    create_key(api, alice, expiration="1d")
    response = api("GET", "/_security/api_key", basic(alice), owner=True, with_limited_by=True)
    assert len(response.json()["api_keys"]) == 2
    check_answer(document, "/_security/api_key", "get", response)


def test_it_describes_the_get_answer_for_an_unknown_id(api, alice, document):
    response = api("GET", "/_security/api_key", basic(alice), id="A" * 20, owner=True)
    assert response.status_code == 404
    check_answer(document, "/_security/api_key", "get", response)


def test_it_describes_query_hits_with_their_sort_values(api, alice, document):
    create_key(api, alice)
    response = api("POST", "/_security/_query/api_key", basic(alice), {"sort": [{"creation": "desc"}, "name"]})
    assert "_sort" in response.json()["api_keys"][0]
    check_answer(document, "/_security/_query/api_key", "post", response)


def test_it_describes_query_hits_and_aggregations_without_sort(api, alice, document):
    create_key(api, alice)
    body = {"query": {"match_all": {}}, "aggs": {"names": {"terms": {"field": "name"}}}}
    response = api("GET", "/_security/_query/api_key", basic(alice), body)
    assert "_sort" not in response.json()["api_keys"][0]
    check_answer(document, "/_security/_query/api_key", "get", response)


def test_it_describes_the_authenticate_answer_for_a_user(api, admin, document):
    response = api("GET", "/_security/_authenticate", basic(admin))
    check_answer(document, "/_security/_authenticate", "get", response)


def test_it_describes_the_authenticate_answer_for_an_api_key(api, alice, document):
    key = create_key(api, alice)
    response = api("GET", "/_security/_authenticate", f"ApiKey {key['encoded']}")
    assert response.json()["api_key"]["id"] == key["id"]
    check_answer(document, "/_security/_authenticate", "get", response)


def test_it_describes_the_update_and_bulk_update_answers(api, alice, document):
    key = create_key(api, alice)
    response = api("PUT", f"/_security/api_key/{key['id']}", basic(alice), {"metadata": {"team": "b"}})
    check_answer(document, "/_security/api_key/{key_id}", "put", response)
    response = api("POST", "/_security/api_key/_bulk_update", basic(alice), {"ids": [key["id"], "missing"]})
    assert response.json()["errors"]["count"] == 1
    check_answer(document, "/_security/api_key/_bulk_update", "post", response)


def test_it_describes_the_invalidate_answer(api, alice, document):
    key = create_key(api, alice)
    response = api("DELETE", "/_security/api_key", basic(alice), {"ids": [key["id"]], "owner": True})
    check_answer(document, "/_security/api_key", "delete", response)


def test_it_describes_the_has_privileges_answer(api, alice, document):
    body = {"cluster": ["manage_own_api_key"], "index": [{"names": ["books"], "privileges": ["read", "write"]}]}
    response = api("POST", "/_security/user/_has_privileges", basic(alice), body)
    check_answer(document, "/_security/user/_has_privileges", "post", response)


def test_it_describes_the_role_and_user_answers(api, admin, alice, document):
    checks = [
        ("PUT", "/_security/role/{name}", "/_security/role/readers", {"cluster": ["monitor"], "index": []}),
        ("GET", "/_security/role", "/_security/role", None),
        ("GET", "/_security/role/{name}", "/_security/role/nobody", None),
        ("DELETE", "/_security/role/{name}", "/_security/role/nobody", None),
        ("PUT", "/_security/user/{username}", "/_security/user/dora", {"password": "a longer passphrase", "roles": []}),
        ("GET", "/_security/user", "/_security/user", None),
        ("GET", "/_security/user/{username}", "/_security/user/nobody", None),
        ("GET", "/_security/user/{username}", "/_security/user/dora,alice", None),
        ("PUT", "/_security/user/{username}/_password", "/_security/user/alice/_password", {"password": "x" * 8}),
        ("PUT", "/_security/user/{username}/_disable", "/_security/user/alice/_disable", None),
        ("POST", "/_security/user/{username}/_enable", "/_security/user/alice/_enable", None),
        ("PUT", "/_security/user/{username}/_enable", "/_security/user/nobody/_enable", None),
        ("DELETE", "/_security/user/{username}", "/_security/user/dora", None),
        ("POST", "/_security/api_key/{ids}/_clear_cache", "/_security/api_key/*/_clear_cache", None),
        ("POST", "/_security/user/_password", "/_security/user/_password", {"password": "y" * 8}),  # last: admin's own
    ]
    for method, template, url, body in checks:
        check_answer(document, template, method.lower(), api(method, url, basic(admin), body))


def test_it_describes_an_error_answer(api, alice, document):
    response = api("POST", "/_security/api_key", basic(alice), {"name": "reports", "colour": "red"})
    assert response.status_code == 400
    check_answer(document, "/_security/api_key", "post", response)


def test_it_describes_the_anonymous_answer(api, document):
    response = api("GET", "/_security/_authenticate")
    assert response.status_code == 401
    check_answer(document, "/_security/_authenticate", "get", response)


def test_it_documents_retry_after_on_every_throttled_answer(document):
    for _, _, operation in operations(document):
        if "429" in operation["responses"]:
            assert "Retry-After" in resolve_ref(document, operation["responses"]["429"])["headers"]


def test_it_describes_the_throttled_answer(api, db, document, settings):
    settings.APIKEYS_AUTH_FAILURES_PER_CLIENT = 1
    api("GET", "/_security/_authenticate", basic("nobody"))
    response = api("GET", "/_security/_authenticate", basic("nobody"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    check_answer(document, "/_security/_authenticate", "get", response)


def test_it_describes_the_wrong_method_answer(api, document):
    response = api("PATCH", "/_security/_authenticate")
    assert response.status_code == 405
    check_answer(document, "/_security/_authenticate", "get", response)


def test_our_extensions_and_only_they_are_marked_as_such():
    from apikeys.api.openapi import build_document

    marked = {
        (path, method)
        for path, operations in build_document()["paths"].items()
        for method, operation in operations.items()
        if operation.get("x-extension")
    }
    assert marked == {
        ("/_security/api_key/{key_id}/_roll", "post"),
        ("/_security/api_key/{key_id}/_usage", "get"),
        ("/_security/api_key/_format", "get"),
        ("/_security/api_key/_leaked", "post"),
        ("/metrics", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    }
    for path, method in marked:
        assert build_document()["paths"][path][method]["description"].startswith("Our extension:")


def test_it_describes_the_builtin_and_the_callers_privileges(api, admin, alice, document):
    held = {
        "global": {"profile": {"write": {"applications": ["kibana"]}}},
        "indices": [{"names": ["a"], "privileges": ["read"], "field_security": {"grant": ["x"]}, "query": "{}"}],
        "remote_indices": [{"names": ["a"], "privileges": ["read"], "clusters": ["eu"]}],
        "remote_cluster": [{"privileges": ["monitor_stats"], "clusters": ["eu"]}],
    }
    erin = make_user("erin", make_role("erin_role", held))
    builtin = api("GET", "/_security/privilege/_builtin", basic(admin))
    assert builtin.json() == {
        field: schema["items"]["enum"]
        for field, schema in document["components"]["schemas"]["BuiltinPrivileges"]["properties"].items()
    }
    check_answer(document, "/_security/privilege/_builtin", "get", builtin)
    check_answer(
        document, "/_security/privilege/_builtin", "get", api("GET", "/_security/privilege/_builtin", basic(alice))
    )
    for user in (admin, alice, erin):
        check_answer(
            document, "/_security/user/_privileges", "get", api("GET", "/_security/user/_privileges", basic(user))
        )
    narrowed = new_key(alice, "narrow", role_descriptors={"r": {"cluster": ["monitor"]}})
    refused = api("GET", "/_security/user/_privileges", f"ApiKey {narrowed.encoded}")
    assert refused.status_code == 400
    check_answer(document, "/_security/user/_privileges", "get", refused)
