"""The app's own settings plus djangorestframework-api-key, for the side-by-side comparison only.

The database is whatever DATABASE_URL names: the run points it at a throwaway database it migrates.
"""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework", "rest_framework_api_key"]
ROOT_URLCONF = "benchmarks.drf_urls"
