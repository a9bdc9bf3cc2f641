"""Console views with Django's test client: fragments vs pages, CSRF, permissions, query counts."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.models import ApiKey, ApplicationPrivilege, KeyUsage, KeyUsageDay
from apikeys.records import usage
from apikeys.services import create_cross_cluster_api_key, create_managed_api_key
from tests.conftest import PASSWORD, make_keys, make_role, make_user, new_key

HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(user, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def csrf_token(client: Client, url: str = "/api-keys/create/") -> str:
    client.get(url)
    return client.cookies["csrftoken"].value


def test_the_list_needs_a_signed_in_user(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_api_key_header_never_signs_a_browser_in(client, alice):
    created = new_key(alice)
    response = client.get("/", HTTP_AUTHORIZATION=f"ApiKey {created.encoded}")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_list_is_a_full_page_and_the_table_a_fragment_for_htmx(alice):
    new_key(alice, "visible-key")
    client = signed_in(alice)
    page = client.get("/api-keys/")
    assert b"<html" in page.content and b"visible-key" in page.content
    fragment = client.get("/api-keys/", HTTP_HX_TARGET="keys-table", **HTMX)
    assert b"<html" not in fragment.content and b"visible-key" in fragment.content
    assert b'id="filters"' not in fragment.content


def test_the_create_form_is_a_flyout_for_htmx_and_a_page_otherwise(alice):
    client = signed_in(alice)
    assert b"<dialog" in client.get("/api-keys/create/", **HTMX).content
    page = client.get("/api-keys/create/")
    assert b"<html" in page.content and b"<dialog" not in page.content


def test_creating_through_htmx_answers_the_callout_and_tells_the_table(alice):
    client = signed_in(alice)
    response = client.post("/api-keys/create/", {"name": "from-flyout"}, **HTMX)
    assert response.status_code == 200
    assert b"Created API key 'from-flyout'" in response.content
    assert "apikeys-changed" in response["HX-Trigger"]
    key = ApiKey.objects.get(name="from-flyout")
    assert key.owner == alice
    assert b"Copy this key now. You will not be able to view it again." in response.content


def test_form_errors_come_back_in_the_flyout_and_create_nothing(alice):
    client = signed_in(alice)
    response = client.post("/api-keys/create/", {"name": "", "restrict": "on", "role_descriptors": "{oops"}, **HTMX)
    assert response.status_code == 200
    assert b"Enter a name." in response.content
    assert b"Enter valid JSON." in response.content
    assert not ApiKey.objects.exists()


def test_schema_errors_name_the_path_and_line(alice):
    client = signed_in(alice)
    text = '{\n  "r": {\n    "cluster": ["fly"]\n  }\n}'
    response = client.post("/api-keys/validate/", {"field": "role_descriptors", "role_descriptors": text}, **HTMX)
    assert b"unknown cluster privilege [fly]" in response.content
    assert b"r.cluster[0]" in response.content and b"Line 3." in response.content
    ok = client.post("/api-keys/validate/", {"field": "metadata", "metadata": '{"a": 1}'}, **HTMX)
    assert b"Valid JSON" in ok.content


def test_the_create_form_takes_a_descriptor_restricted_to_a_workflow_as_the_api_does(alice):
    client = signed_in(alice)
    text = '{\n  "search": {\n    "restriction": {"workflows": ["search_application_query"]}\n  }\n}'
    response = client.post(
        "/api-keys/create/", {"name": "search-only", "restrict": "on", "role_descriptors": text}, **HTMX
    )
    assert b"Created API key 'search-only'" in response.content
    key = ApiKey.objects.get(name="search-only")
    assert key.role_descriptors["search"]["restriction"] == {"workflows": ["search_application_query"]}
    assert b"search_application_query" in client.get(f"/api-keys/{key.id}/").content
    unknown = text.replace("search_application_query", "search_everything")
    response = client.post("/api-keys/create/", {"name": "nope", "restrict": "on", "role_descriptors": unknown}, **HTMX)
    assert b"Unknown workflow [search_everything]" in response.content and b"Line 3." in response.content
    assert not ApiKey.objects.filter(name="nope").exists()


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/api-keys/create/", {"name": "x"}),
        ("/api-keys/validate/", {"field": "metadata", "metadata": "{}"}),
        ("/api-keys/delete/", {"id": "placeholder"}),
        ("/accounts/logout/", {}),
    ],
)
def test_every_console_form_enforces_csrf(alice, url, data):
    created = new_key(alice, "kept")
    data = {k: (created.key.id if v == "placeholder" else v) for k, v in data.items()}
    client = signed_in(alice, csrf=True)
    assert client.post(url, data).status_code == 403
    assert client.post(url, data, **HTMX).status_code == 403
    assert ApiKey.objects.count() == 1 and not ApiKey.objects.get().invalidated


def test_the_update_form_enforces_csrf_and_accepts_the_token(alice):
    created = new_key(alice, metadata={"v": 1})
    client = signed_in(alice, csrf=True)
    url = f"/api-keys/{created.key.id}/"
    assert client.post(url, {"role_descriptors": "{}", "metadata": '{"v": 2}'}).status_code == 403
    token = csrf_token(client, url)
    response = client.post(url, {"role_descriptors": "{}", "metadata": '{"v": 2}', "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert ApiKey.objects.get().metadata == {"v": 2}


def test_htmx_requests_carry_the_csrf_header(alice):
    client = signed_in(alice, csrf=True)
    token = csrf_token(client)
    response = client.post("/api-keys/create/", {"name": "via-htmx"}, HTTP_X_CSRFTOKEN=token, **HTMX)
    assert response.status_code == 200
    assert ApiKey.objects.filter(name="via-htmx").exists()


def test_another_users_key_page_is_404_for_own_key_users(alice, bob):
    theirs = new_key(bob, metadata={"v": 1})
    client = signed_in(alice)
    assert client.get(f"/api-keys/{theirs.key.id}/").status_code == 404
    assert client.post(f"/api-keys/{theirs.key.id}/", {"role_descriptors": "{}", "metadata": "{}"}).status_code == 404
    assert client.post(f"/api-keys/{theirs.key.id}/check/", {"cluster": "monitor"}).status_code == 404
    assert ApiKey.objects.get().metadata == {"v": 1}


def test_admins_see_but_cannot_update_other_users_keys(admin, alice):
    theirs = new_key(alice, metadata={"v": 1})
    client = signed_in(admin)
    page = client.get(f"/api-keys/{theirs.key.id}/")
    assert b"You can&#x27;t update this API key. It belongs to another user." in page.content
    assert b"API key details" in page.content
    assert client.post(f"/api-keys/{theirs.key.id}/", {"role_descriptors": "{}", "metadata": "{}"}).status_code == 403
    assert ApiKey.objects.get().metadata == {"v": 1}


def test_read_only_reasons_for_expired_invalidated_and_managed_keys(alice):
    expired, invalidated = new_key(alice, "old"), new_key(alice, "gone")
    ApiKey.objects.filter(pk=expired.key.id).update(expiration=timezone.now() - timedelta(minutes=1))
    ApiKey.objects.filter(pk=invalidated.key.id).update(invalidated=True, invalidation=timezone.now())
    client = signed_in(alice)
    assert (
        b"This API key has expired. You can no longer update it." in client.get(f"/api-keys/{expired.key.id}/").content
    )
    assert b"has been deleted" in client.get(f"/api-keys/{invalidated.key.id}/").content
    for key_id in (expired.key.id, invalidated.key.id):
        assert (
            client.post(f"/api-keys/{key_id}/", {"role_descriptors": "{}", "metadata": '{"x": 1}'}).status_code == 403
        )
    assert not ApiKey.objects.exclude(metadata={}).exists()


def test_managed_keys_are_read_only_even_for_admins(admin):
    managed = create_managed_api_key("fleet")
    page = signed_in(admin).get(f"/api-keys/{managed.key.id}/")
    assert b"managed by the system" in page.content


def test_own_key_users_cannot_delete_other_users_keys(alice, bob):
    theirs = new_key(bob)
    client = signed_in(alice)
    response = client.post("/api-keys/delete/", {"id": theirs.key.id})
    assert response.status_code == 302
    assert not ApiKey.objects.get().invalidated
    assert client.get(f"/api-keys/delete/?id={theirs.key.id}").context["count"] == 0


def test_only_admins_delete_all_expired(alice, manager):
    mine = new_key(alice)
    ApiKey.objects.filter(pk=mine.key.id).update(expiration=timezone.now() - timedelta(days=1))
    assert signed_in(alice).post("/api-keys/delete/", {"expired": "1"}).status_code == 403
    assert not ApiKey.objects.get().invalidated
    assert signed_in(manager).post("/api-keys/delete/", {"expired": "1"}).status_code == 302
    assert ApiKey.objects.get().invalidated


def test_users_without_privileges_see_the_not_allowed_state_and_cannot_create(charlie):
    client = signed_in(charlie)
    assert b"You do not have permission to manage API keys" in client.get("/").content
    assert client.get("/api-keys/create/").status_code == 403
    assert client.post("/api-keys/create/", {"name": "x"}).status_code == 403
    assert client.post("/api-keys/delete/", {"id": "x"}).status_code == 403
    assert not ApiKey.objects.exists()


def test_readers_see_everyones_keys_with_owners_but_no_delete(reader, alice, bob):
    new_key(alice, "alices")
    new_key(bob, "bobs")
    page = signed_in(reader).get("/")
    assert b"alices" in page.content and b"bobs" in page.content
    assert b">Owner<" in page.content
    assert b">Delete<" not in page.content
    assert b"Create API key" not in page.content


def test_own_key_users_get_a_note_and_no_owner_column(alice):
    new_key(alice)
    page = signed_in(alice).get("/")
    assert b"You are viewing your own API keys only." in page.content
    assert b">Owner<" not in page.content


def list_queries(client: Client, url: str) -> int:
    cache.clear()  # a cold page: counts computed, not remembered
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def with_usage() -> None:
    """Every key used each hour of the last two days: the rows' sparklines have something to draw."""
    hour = int(timezone.now().timestamp()) // 3600 * 3600
    usage.store(
        {
            (key_id, hour - h * 3600, "success"): h + 1
            for key_id in ApiKey.objects.values_list("id", flat=True)
            for h in range(48)
        }
    )


def test_the_list_page_makes_the_same_number_of_queries_for_25_and_250_rows(admin):
    client = signed_in(admin)
    make_keys(admin, 30)
    with_usage()
    small = list_queries(client, "/api-keys/?per_page=25")
    ApiKey.objects.all().delete()
    KeyUsage.objects.all().delete()
    KeyUsageDay.objects.all().delete()
    make_keys(admin, 300)
    with_usage()
    page = client.get("/api-keys/?per_page=100&page=3").content.decode()
    assert page.count('class="sparkline"') == 100 and "Requests in the last 7 days: 0, 0, 0, 0, " in page
    large = list_queries(client, "/api-keys/?per_page=100&page=3")
    assert small == large


def test_the_sign_in_form_signs_in_with_username_and_password(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert re.search(r"API keys", client.get("/").content.decode())


@pytest.mark.django_db(transaction=True)  # caches are told of a change when it commits
def test_remembered_counts_are_forgotten_when_a_key_changes(alice, monkeypatch):
    monkeypatch.setattr("apikeys.infra.caching.CACHE_FROM_ROWS", 0)  # remember even small counts
    client = signed_in(alice)
    new_key(alice, "first")
    assert b"of 1 API key" in client.get("/").content
    new_key(alice, "second")
    assert b"of 2 API keys" in client.get("/").content
    client.post("/api-keys/delete/", {"id": ApiKey.objects.get(name="first").id})
    assert b"of 1 API key" in client.get("/").content


def test_a_page_past_the_middle_is_read_from_the_end_in_the_same_order(admin):
    make_keys(admin, 60)
    client = signed_in(admin)
    names = []
    for page in (1, 2, 3):
        content = client.get(f"/api-keys/?sort=name&page={page}").content.decode()
        names += re.findall(r">(key-\d{4})</a>", content)
    assert names == sorted(names) and len(set(names)) == 60
    last = client.get("/api-keys/?sort=-created&page=3").content.decode()
    assert re.findall(r">(key-\d{4})</a>", last) == [f"key-{i:04d}" for i in range(50, 60)]


def test_counts_are_remembered_until_the_next_write(alice, monkeypatch):
    monkeypatch.setattr("apikeys.infra.caching.CACHE_FROM_ROWS", 0)
    client = signed_in(alice)
    new_key(alice, "first")
    client.get("/")
    ApiKey.objects.filter(name="first").update(name="renamed")  # behind the services' back: not counted
    make_keys(alice, 2)
    assert b"of 1 API key" in client.get("/").content


def test_pages_that_answer_fragments_to_htmx_vary_on_the_htmx_header(alice):
    response = signed_in(alice).get("/api-keys/")
    assert "HX-Request" in response["Vary"]


def test_the_key_page_shows_effective_index_privileges(alice):
    created = new_key(
        alice, role_descriptors={"r": {"indices": [{"names": ["books", "secret"], "privileges": ["read", "write"]}]}}
    )
    page = signed_in(alice).get(f"/api-keys/{created.key.id}/").content.decode()
    assert re.search(r"<code>books</code>: <span class=\"badge plain\">read</span> </li>", page)
    assert re.search(r"<code>secret</code>: <em>none</em>", page)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"status": "active"},
        {"status": "expired"},
        {"status": "invalidated"},
        {"type": "managed"},
        {"type": "personal", "status": "active"},
        {"owner": "bob"},
        {"q": "blue"},
        {"q": "BLUE", "status": "expired"},
        {"q": "bo", "type": "personal"},
    ],
)
def test_the_counts_beside_the_filters_are_those_of_the_keys(admin, alice, bob, params):
    past = timezone.now() - timedelta(days=1)
    for owner, name, state, managed in [
        (alice, "blue-1", "active", False),
        (alice, "blue-2", "expired", True),
        (alice, "red-1", "invalidated", False),
        (alice, "red-2", "active", True),
        (bob, "blue-3", "active", False),
        (bob, "green-1", "expired", False),
        (bob, "green-2", "invalidated", True),
        (bob, "green-3", "active", False),
    ]:
        key = new_key(owner, name, metadata={"managed": True} if managed else {}).key
        ApiKey.objects.filter(pk=key.pk).update(
            expiration=past if state == "expired" else None, invalidated=state == "invalidated"
        )
    cache.clear()
    counts = signed_in(admin).get("/api-keys/", params).context["counts"]

    def status(key):
        return "invalidated" if key.invalidated else "expired" if key.is_expired() else "active"

    text = params.get("q", "").lower()
    searched = [k for k in ApiKey.objects.all() if text in k.name.lower() or text in k.username.lower()]
    shown = [
        k
        for k in searched
        if (status(k) == params["status"] if params.get("status") else not k.invalidated)
        and (params.get("type") is None or k.managed == (params["type"] == "managed"))
        and (params.get("owner") is None or k.username == params["owner"])
    ]
    assert counts["total"] == len(shown)
    for value in ("active", "expired", "invalidated"):
        assert counts[value] == sum(status(k) == value for k in searched)
    assert counts["managed"] == sum(k.managed for k in searched)
    assert counts["personal"] == sum(not k.managed for k in searched)
    owners = sorted({k.username for k in searched})
    assert counts["owners"] == [(name, sum(k.username == name for k in searched)) for name in owners]


def test_counts_of_thousands_are_written_with_separators(alice):
    make_keys(alice, 1234)
    content = signed_in(alice).get("/api-keys/").content.decode()
    assert "Showing 1&ndash;25 of 1,234 API keys" in content
    assert "Active (1,234)" in content and "Select all matching (1,234)" in content


def test_select_all_matching_offers_only_the_keys_the_caller_may_delete(manager, admin, alice):
    new_key(alice, "one")
    new_key(alice, "two")
    principal = Principal.for_user(admin)
    create_cross_cluster_api_key(principal, {"name": "remote", "access": {"search": [{"names": ["logs-*"]}]}})
    # A manager of every key without manage_security may not delete the cross-cluster one: not offered, not counted.
    content = signed_in(manager).get("/api-keys/").content.decode()
    assert "of 3 API keys" in content and "Select all matching (2)" in content
    assert signed_in(manager).get("/api-keys/", {"type": "cross_cluster"}).content.decode().count("Select all") == 0
    # Searching narrows what is counted; with manage_security every key is offered.
    assert "Select all matching (1)" in signed_in(manager).get("/api-keys/", {"q": "one"}).content.decode()
    assert "Select all matching (3)" in signed_in(admin).get("/api-keys/").content.decode()
    # Invalidated keys cannot be deleted again: nothing to select.
    services.invalidate_keys(ApiKey.objects.filter(name="one"), None, principal)
    invalidated = signed_in(admin).get("/api-keys/", {"status": "invalidated"}).content.decode()
    assert "of 1 API key" in invalidated and "Select all matching" not in invalidated
    assert 'id="bulk-delete"' not in invalidated


def test_the_key_page_shows_the_application_privileges_a_key_really_holds(db):
    ApplicationPrivilege.objects.create(application="myapp", name="read", actions=["data:read/*"])
    ApplicationPrivilege.objects.create(application="myapp", name="write", actions=["data:write/*"])
    owner_role = make_role(
        "myapp_reader",
        {
            "cluster": ["manage_own_api_key"],
            "applications": [{"application": "myapp", "privileges": ["read"], "resources": ["*"]}],
        },
    )
    owner = make_user("vera", owner_role)
    wants = {"r": {"applications": [{"application": "myapp", "privileges": ["read", "write"], "resources": ["doc/1"]}]}}
    key = new_key(owner, "app-key", role_descriptors=wants).key
    page = signed_in(owner).get(f"/api-keys/{key.id}/").content.decode()
    held = re.search(r"<code>myapp</code> on <code>doc/1</code>: (.*?)</li>", page)
    assert held is not None, "the application entry is listed"
    assert re.findall(r'<span class="badge plain">([^<]+)</span>', held.group(1)) == ["read"]


def test_the_access_editor_validates_as_you_type(admin):
    client = signed_in(admin)
    bad = client.post("/api-keys/validate/", {"field": "access", "access": '{"search": [{"names": []}]}'})
    assert b"[names] must be a string or a non-empty array of strings" in bad.content
    good = client.post("/api-keys/validate/", {"field": "access", "access": '{"search": [{"names": ["*"]}]}'})
    assert b"Valid JSON" in good.content


def test_a_cross_cluster_key_cannot_be_created_without_manage_security(alice):
    form = {"name": "sneaky", "type": "cross_cluster", "access": '{"search": [{"names": ["*"]}]}'}
    answer = signed_in(alice).post("/api-keys/create/", form)
    assert answer.status_code == 400
    assert b"You do not have permission to do this. It needs the manage_security privilege." in answer.content
    assert b"cluster:admin/xpack" not in answer.content, "people are not told Elasticsearch's action names"
    assert not ApiKey.objects.exists()
