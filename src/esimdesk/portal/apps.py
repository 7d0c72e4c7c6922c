from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "esimdesk.portal"
    label = "portal"
    verbose_name = "Portal"
