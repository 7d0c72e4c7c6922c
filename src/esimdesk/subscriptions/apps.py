from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "esimdesk.subscriptions"
    label = "subscriptions"
    verbose_name = "Subscriptions"
