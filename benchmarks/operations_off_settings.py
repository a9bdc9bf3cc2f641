"""The app's own settings without the request middleware: figure 1d's "off" side (`benchmarks/operations_off.py`)."""

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE

REQUEST_MIDDLEWARE = "apikeys.infra.request_log.RequestMiddleware"
MIDDLEWARE = [name for name in MIDDLEWARE if name != REQUEST_MIDDLEWARE]
