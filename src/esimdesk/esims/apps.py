from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EsimsConfig(AppConfig):
    name = "esimdesk.esims"
    label = "esims"
    verbose_name = _("eSIMs")

    def ready(self) -> None:
        # Suppliers' reports reach this app through provisioning's receivers.
        from esimdesk.esims.upstream_reports import RECEIVER
        from esimdesk.provisioning.receivers import provide_profiles

        provide_profiles(RECEIVER)
