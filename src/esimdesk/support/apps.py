from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "esimdesk.support"
    label = "support"
    verbose_name = "Support"
