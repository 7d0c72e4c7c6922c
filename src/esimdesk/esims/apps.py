from django.apps import AppConfig


class EsimsConfig(AppConfig):
    name = "esimdesk.esims"
    label = "esims"
    verbose_name = "Esims"
