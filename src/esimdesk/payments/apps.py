from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "esimdesk.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from esimdesk.orders.models import PROVIDER_LABELS
        from esimdesk.payments.registry import PROVIDERS

        for name, provider in PROVIDERS.items():
            PROVIDER_LABELS[name] = provider.label
