"""Several gunicorn workers on PostgreSQL + Redis: what one worker invalidates, the others refuse at once."""

import os
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection

from tests.conftest import PASSWORD, basic, new_key
from tests.faults.servers import SERVER_START_SECONDS, Gunicorn


def get(url: str, auth: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": auth})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def gunicorn(transactional_db):
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs DATABASE_URL on PostgreSQL and REDIS_URL (CI's second pass)")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        # The test asks 20 times with one invalidated key: refusals are the point, not throttling (429).
        "APIKEYS_AUTH_FAILURES_PER_KEY": "1000",
    }
    server = Gunicorn(env, workers=2)
    try:
        server.start()
        # The workers have booted; this one request waits in the listen queue until a worker has loaded Django.
        urllib.request.urlopen(server.url + "/openapi.json", timeout=SERVER_START_SECONDS).close()
        yield server.url
    finally:
        server.stop()


def test_a_key_invalidated_through_one_worker_is_refused_by_every_worker(gunicorn, alice):
    argon2 = Argon2PasswordHasher()
    alice.password = argon2.encode(PASSWORD, argon2.salt())  # what the server's own hashers read
    alice.save()
    created = new_key(alice)
    auth = f"ApiKey {created.encoded}"
    # Warm both workers' view of the key (the cache is shared Redis; requests spread over the workers).
    assert {get(gunicorn + "/_security/_authenticate", auth) for _ in range(20)} == {200}
    request = urllib.request.Request(
        gunicorn + "/_security/api_key",
        data=f'{{"ids": ["{created.key.id}"], "owner": true}}'.encode(),
        method="DELETE",
        headers={"Authorization": basic(alice), "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert {get(gunicorn + "/_security/_authenticate", auth) for _ in range(20)} == {401}
