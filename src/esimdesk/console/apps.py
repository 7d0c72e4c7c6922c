from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "esimdesk.console"
    label = "console"
    verbose_name = _("Console")

    def ready(self) -> None:
        from esimdesk.console.alerts import alerts_sweep
        from esimdesk.core import sweeps

        sweeps.register("alerts", alerts_sweep)
