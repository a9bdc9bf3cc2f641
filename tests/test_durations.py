import pytest

from apikeys.domain.durations import InvalidDuration, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30m", 1800),
        ("1d", 86400),
        ("7d", 604800),
        ("2h", 7200),
        ("45s", 45),
        ("1500ms", 1),
        ("5000000000nanos", 5),
        ("3000000micros", 3),
        (" 1d ", 86400),
    ],
)
def test_it_parses_whole_seconds(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("10", "unit is missing"),
        ("1.5d", "fractional"),
        ("-1d", "negative"),
        ("1y", "unit is missing"),
        ("d", "unit is missing"),
        ("", "unit is missing"),
        (5, "must be a string"),
    ],
)
def test_it_rejects_bad_durations_with_elasticsearchs_words(value, reason):
    with pytest.raises(InvalidDuration) as error:
        parse_duration(value)
    assert str(error.value).startswith(f"failed to parse setting [expiration] with value [{value}] as a time value")
    assert reason in str(error.value)
