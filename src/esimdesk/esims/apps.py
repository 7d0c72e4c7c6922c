from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EsimsConfig(AppConfig):
    name = "esimdesk.esims"
    label = "esims"
    verbose_name = _("eSIMs")

    def ready(self) -> None:
        # Suppliers' reports reach this app through provisioning's receivers.
        from esimdesk.core import sweeps
        from esimdesk.esims.upstream_reports import RECEIVER
        from esimdesk.esims.upstream_revoke import recover
        from esimdesk.provisioning.receivers import provide_profiles

        provide_profiles(RECEIVER)
        # Cancellations at the supplier whose task was lost are queued again.
        sweeps.register("upstream_revokes", recover)
