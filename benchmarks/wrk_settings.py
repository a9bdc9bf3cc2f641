"""The app's own settings with figure 7's bare view routed (`benchmarks/wrk_urls.py`)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.wrk_urls"
