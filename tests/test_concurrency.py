"""Many clients at once on overlapping keys: no 5xx, no lost update, a final state that matches the answers.

Runs on whatever database the suite uses: SQLite by default, PostgreSQL when DATABASE_URL points at it.
"""

import json
import random
import threading
from collections import defaultdict

import pytest
from django.db import connections
from django.test import Client

from apikeys.models import ApiKey, AuditEvent
from tests.conftest import basic, new_key

THREADS = 8
OPERATIONS = 12


def call(client: Client, method: str, path: str, auth: str, body=None):
    response = client.generic(
        method,
        path,
        json.dumps(body) if body is not None else "",
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    return response.status_code, (response.json() if response.content else None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_updates_and_invalidations_stay_consistent(alice, bob):
    auth = {"alice": basic(alice), "bob": basic(bob)}
    keys = {
        "alice": [new_key(alice, f"a{i}").key.id for i in range(12)],
        "bob": [new_key(bob, f"b{i}").key.id for i in range(6)],
    }
    results = defaultdict(list)
    errors = []

    def worker(number: int) -> None:
        rng = random.Random(number)
        client = Client()
        try:
            for step in range(OPERATIONS):
                user = "alice" if number % 3 else "bob"
                ids = keys[user]
                kind = rng.choice(["create", "update", "bulk", "invalidate", "update", "read"])
                if kind == "create":
                    outcome = call(client, "POST", "/_security/api_key", auth[user], {"name": f"t{number}-{step}"})
                elif kind == "update":
                    key_id = rng.choice(ids)
                    outcome = call(
                        client,
                        "PUT",
                        f"/_security/api_key/{key_id}",
                        auth[user],
                        {"metadata": {"by": number, "step": step}},
                    )
                    outcome = (*outcome, key_id, {"by": number, "step": step})
                elif kind == "bulk":
                    chosen = rng.sample(ids, 3)
                    outcome = call(
                        client,
                        "POST",
                        "/_security/api_key/_bulk_update",
                        auth[user],
                        {"ids": chosen, "metadata": {"by": number, "step": step}},
                    )
                    outcome = (*outcome, chosen, {"by": number, "step": step})
                elif kind == "invalidate":
                    outcome = call(client, "DELETE", "/_security/api_key", auth[user], {"ids": rng.sample(ids, 2)})
                else:
                    outcome = call(client, "POST", "/_security/_query/api_key", auth[user], {"size": 50})
                results[kind].append(outcome)
        except Exception as exc:  # reported below; a thread must not die silently
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    statuses = [outcome[0] for outcomes in results.values() for outcome in outcomes]
    assert len(statuses) == THREADS * OPERATIONS
    assert all(status < 500 for status in statuses), sorted(set(statuses))

    # Every key any answer reported invalidated is invalidated, and was reported newly invalidated once.
    newly = [
        key_id for status, body in results["invalidate"] if status == 200 for key_id in body["invalidated_api_keys"]
    ]
    assert len(newly) == len(set(newly))
    invalidated = set(ApiKey.objects.filter(invalidated=True).values_list("id", flat=True))
    assert invalidated == set(newly)

    # Creates: one row per successful answer.
    created = [body["id"] for status, body in results["create"] if status == 200]
    assert ApiKey.objects.filter(pk__in=created).count() == len(created)

    # An update racing an invalidation never resurrects a key; refused updates say why.
    for status, body, key_id, _ in results["update"]:
        assert status in (200, 400), body
        if status == 400:
            assert f"cannot update invalidated API key [{key_id}]" == body["error"]["reason"]

    # Final metadata of each key is what some successful update wrote (the last writer wins, none is lost
    # half-way), or the original when no update succeeded.
    written = defaultdict(list)
    for status, body, key_id, metadata in results["update"]:
        if status == 200 and body["updated"]:
            written[key_id].append(metadata)
    for status, body, _ids, metadata in results["bulk"]:
        assert status == 200, body
        for key_id in body["updated"]:
            written[key_id].append(metadata)
    for key in ApiKey.objects.filter(pk__in=keys["alice"] + keys["bob"]):
        if written[key.id]:
            assert key.metadata in written[key.id]
        else:
            assert key.metadata == {}


@pytest.mark.django_db(transaction=True)
def test_rolls_of_one_key_at_once_make_exactly_one_successor(alice):
    key = new_key(alice, "contended").key
    rollers = 4
    start = threading.Barrier(rollers)
    answers, errors = [], []

    def roller() -> None:
        try:
            client = Client()
            start.wait(timeout=30)
            answers.append(
                call(client, "POST", f"/_security/api_key/{key.id}/_roll", basic(alice), {"grace_period": "1h"})
            )
        except Exception as exc:  # reported below; a thread must not die silently
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=roller) for _ in range(rollers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(status for status, _ in answers) == [200] + [400] * (rollers - 1), answers
    [successor] = [body["id"] for status, body in answers if status == 200]
    assert list(ApiKey.objects.filter(rolled_from=key.id).values_list("id", flat=True)) == [successor]
    assert ApiKey.objects.get(pk=key.id).rolled_to == successor
    refusals = [body["error"]["reason"] for status, body in answers if status == 400]
    assert all(reason.endswith(f"its successor is [{successor}]") for reason in refusals), refusals
    assert AuditEvent.objects.filter(action="roll", key_id=key.id).count() == 1
