from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "esimdesk.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from esimdesk.orders.models import PROVIDER_LABELS
        from esimdesk.payments.registry import LABELS

        PROVIDER_LABELS.update(LABELS)
