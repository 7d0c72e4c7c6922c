from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "esimdesk.api"
    label = "api"
    verbose_name = "Api"
