from django.apps import AppConfig


class BreachDeskConfig(AppConfig):
    name = "breachdesk"
    verbose_name = "Organisation and audit"

    def ready(self) -> None:
        from . import receivers  # noqa: F401
