"""Figure 1d's "off" side as the production server serves it: the app before issue 21, with no request middleware
(no request id, no request counts, no line per request) and the authentication and usage-backlog counts replaced
by no-ops, exactly as figure 1c's "off" side. Served as `benchmarks.operations_off:application` with
`DJANGO_SETTINGS_MODULE=benchmarks.operations_off_settings`; gunicorn imports it once, in the arbiter
(`preload_app`), so every worker is a fork of it."""

from apikeys.infra import metrics
from config.wsgi import application


def _uncounted(*args: object, **kwargs: object) -> None:
    pass


metrics.authenticated = metrics.usage_backlog = _uncounted

__all__ = ["application"]
