from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "esimdesk.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from esimdesk import config
        from esimdesk.core import console_settings, deploy_checks  # noqa: F401 (registers)

        config.set_console_lookup(console_settings.lookup)
