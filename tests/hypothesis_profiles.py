"""Hypothesis profiles for the property tests; importing this module loads the one HYPOTHESIS_PROFILE names.

- `ci` (the default): derandomized, so every run tries the same examples; modest example counts; no deadline
  (a loaded machine must not fail a test for being slow) and no example database on disk.
- `dev`: ten times the examples, random, remembering failures in .hypothesis/ to try them first next time:
  `HYPOTHESIS_PROFILE=dev .venv/bin/python -m pytest tests/test_properties.py`
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, max_examples=100, deadline=None, database=None)
settings.register_profile("dev", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(share: float) -> int:
    """`share` of the profile's example count, for tests whose examples cost more (at least 10)."""
    return max(10, int(settings.default.max_examples * share))
