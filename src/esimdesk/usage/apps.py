from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "esimdesk.usage"
    label = "usage"
    verbose_name = "Usage"
