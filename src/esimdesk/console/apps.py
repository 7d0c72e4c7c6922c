from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "esimdesk.console"
    label = "console"
    verbose_name = "Console"

    def ready(self) -> None:
        from esimdesk.console.alerts import alerts_sweep
        from esimdesk.core import sweeps

        sweeps.register("alerts", alerts_sweep)
