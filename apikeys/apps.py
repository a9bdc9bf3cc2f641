from django.apps import AppConfig


class ApikeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import logging

        from django.conf import settings
        from django.core import checks, signals
        from django.db.models.signals import post_migrate

        from apikeys.infra import deferred, outages, planner, triggers

        import_what_the_checks_import()

        signals.request_started.connect(deferred.request_started, dispatch_uid="apikeys-deferred-start")
        signals.request_finished.connect(deferred.request_finished, dispatch_uid="apikeys-deferred-finish")
        signals.request_started.connect(outages.drop_hung_up_connections, dispatch_uid="apikeys-hung-up")
        post_migrate.connect(triggers.ensure_after_migrate, sender=self, dispatch_uid="apikeys-owner-counts")
        post_migrate.connect(planner.refresh_after_migrate, sender=self, dispatch_uid="apikeys-statistics")
        checks.register(lifetime_policy_check)
        checks.register(operations_check)
        if settings.LOG_FORMAT == "json":
            logging.captureWarnings(True)  # Python's warnings are written raw to standard error otherwise
            # What no JSON line shows, not worked out for each record (the logging HOWTO's "Optimization").
            logging._srcfile = None
            logging.logThreads = logging.logMultiprocessing = False


def import_what_the_checks_import() -> None:
    """Imports, in the thread that sets Django up, what the system checks import: our checks need the services,
    Django's check of template tag names imports every tag library, and the admin's checks every middleware.
    `runserver` (`make run`) runs the checks in one thread while its reloader imports the URLconf, and with it the
    same modules, in another: two threads importing them at once can each end up with the other's half-made module
    ("cannot import name ... from partially initialized module"), and the server never started. Left to the
    checks: the URLconf alone, which one thread imports while the other waits for it, holding nothing."""
    from importlib import import_module

    from django.conf import settings
    from django.utils.module_loading import import_string

    for module in ("apikeys.services", "apikeys.templatetags.console"):
        import_module(module)
    for middleware in [*settings.MIDDLEWARE, *settings.CONSOLE_MIDDLEWARE]:
        import_string(middleware)


def lifetime_policy_check(app_configs, **kwargs) -> list:
    """A lifetime setting that is not a duration, or a default beyond the maximum, stops the server starting."""
    from django.core import checks
    from django.core.exceptions import ImproperlyConfigured

    from apikeys.services.lifetime import policy

    try:
        policy()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="apikeys.E001")]
    return []


def operations_check(app_configs, **kwargs) -> list:
    """A webhook nobody can verify, or a metrics folder that is not there, stops the server starting (rather than
    failing each request that counts)."""
    from pathlib import Path

    from django.conf import settings
    from django.core import checks

    errors = []
    if settings.APIKEYS_AUDIT_WEBHOOK_URL and not settings.APIKEYS_AUDIT_WEBHOOK_SECRET:
        errors.append(
            checks.Error("APIKEYS_AUDIT_WEBHOOK_URL is set without APIKEYS_AUDIT_WEBHOOK_SECRET", id="apikeys.E002")
        )
    folder = settings.PROMETHEUS_MULTIPROC_DIR
    if folder and not Path(folder).is_dir():
        errors.append(checks.Error(f"PROMETHEUS_MULTIPROC_DIR={folder!r} is not a folder", id="apikeys.E003"))
    return errors
