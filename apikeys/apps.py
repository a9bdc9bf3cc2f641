from django.apps import AppConfig


class ApikeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from .auth import record_pending_uses

        request_finished.connect(record_pending_uses, dispatch_uid="apikeys-last-used")
