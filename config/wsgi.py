"""The WSGI application, as servers import it (gunicorn under `make serve` imports it once, in its arbiter, and
forks each worker from there; `runserver` imports it too).

Django imports the URLconf, every view and what they import (the OpenID Connect client, the HTTP client, Redis'
client: about 400 modules) only when the first request is resolved. Imported here instead, before any worker is
forked, so that a worker that gunicorn starts or replaces (`--max-requests`) answers its first request as fast
as the others, instead of spending a third of a second importing while its requests wait.
"""

import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db.utils import load_backend
from django.urls import get_resolver
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def import_what_the_first_request_would() -> None:
    get_resolver().url_patterns  # noqa: B018 (a cached property: reading it imports the URLconf and the views)
    for cache in settings.CACHES.values():  # the backend's class only: no cache is made, no connection opened
        import_string(cache["BACKEND"])
    for database in settings.DATABASES.values():  # the SQL compiler, which a backend imports on first use
        import_module(load_backend(database["ENGINE"]).DatabaseWrapper.ops_class.compiler_module)


import_what_the_first_request_would()
