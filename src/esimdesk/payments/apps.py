from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "esimdesk.payments"
    label = "payments"
    verbose_name = "Payments"
