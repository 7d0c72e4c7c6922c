from django.apps import AppConfig


class FiguresConfig(AppConfig):
    name = "esimdesk.figures"
    label = "figures"
    verbose_name = "Figures"
