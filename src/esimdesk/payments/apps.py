from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "esimdesk.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from esimdesk import config
        from esimdesk.core import security_headers
        from esimdesk.orders.models import PROVIDER_LABELS
        from esimdesk.orders.signals import refund_due
        from esimdesk.payments.registry import LABELS, declared_options, hosted_page_origins
        from esimdesk.payments.settlement import on_refund_due

        PROVIDER_LABELS.update(LABELS)
        config.add_option_source(declared_options)
        security_headers.add_form_action_source(hosted_page_origins)
        refund_due.connect(on_refund_due, dispatch_uid="payments.settlement.on_refund_due")
