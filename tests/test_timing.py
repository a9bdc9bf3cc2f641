"""An unknown key id costs about what a wrong secret does, so timing does not tell which ids exist."""

import statistics
import time

import pytest

from apikeys.access.authentication import authenticate_api_key
from apikeys.domain import keys
from apikeys.domain.errors import AuthenticationFailed
from tests.conftest import new_key


def median_seconds(encoded: str, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        with pytest.raises(AuthenticationFailed):
            authenticate_api_key(encoded)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


@pytest.mark.parametrize(("algorithm", "rounds"), [("ssha256", 200), ("argon2id", 5)])
def test_an_unknown_id_and_a_wrong_secret_cost_the_same_order_of_time(alice, settings, algorithm, rounds):
    settings.APIKEYS_HASH_ALGORITHM = algorithm
    created = new_key(alice)
    wrong_secret = keys.encode(created.key.id, keys.generate_secret())
    unknown_id = keys.encode(keys.generate_id(), keys.generate_secret())
    median_seconds(unknown_id, 2)  # warm up: the dummy hash is made once
    wrong, unknown = median_seconds(wrong_secret, rounds), median_seconds(unknown_id, rounds)
    assert 1 / 3 < unknown / wrong < 3, f"unknown id {unknown * 1e3:.2f} ms vs wrong secret {wrong * 1e3:.2f} ms"
