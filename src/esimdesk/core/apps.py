from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "esimdesk.core"
    label = "core"
    verbose_name = "Core"
