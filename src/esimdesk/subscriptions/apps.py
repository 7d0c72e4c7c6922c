from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "esimdesk.subscriptions"
    label = "subscriptions"
    verbose_name = _("Subscriptions")

    def ready(self) -> None:
        # A pending period starts when the supplier reports first use (or install).
        from esimdesk.esims.upstream_reports import profile_reported
        from esimdesk.subscriptions.validity import on_profile_reported

        profile_reported.connect(on_profile_reported, dispatch_uid="validity.first_use")
