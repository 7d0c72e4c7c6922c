from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsageConfig(AppConfig):
    name = "esimdesk.usage"
    label = "usage"
    verbose_name = _("Usage")

    def ready(self) -> None:
        # Suppliers' reports reach this app through provisioning's receivers.
        from esimdesk.provisioning.receivers import provide_usage
        from esimdesk.usage.upstream_usage import RECEIVER

        provide_usage(RECEIVER)
