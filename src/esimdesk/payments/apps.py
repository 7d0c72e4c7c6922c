from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "esimdesk.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from esimdesk.core import security_headers
        from esimdesk.orders.invoicing import InvoiceMethod
        from esimdesk.orders.models import PROVIDER_LABELS
        from esimdesk.orders.signals import refund_due
        from esimdesk.payments import methods
        from esimdesk.payments.registry import LABELS, hosted_page_origins
        from esimdesk.payments.settlement import on_refund_due

        PROVIDER_LABELS.update(LABELS)
        security_headers.add_form_action_source(hosted_page_origins)
        # An organisation's monthly invoice: a payment method that settles on account. Its
        # owner registers it once group invoices live in an app above payments.
        methods.register(InvoiceMethod())
        refund_due.connect(on_refund_due, dispatch_uid="payments.settlement.on_refund_due")
