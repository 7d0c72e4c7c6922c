from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "esimdesk.notifications"
    label = "notifications"
    verbose_name = "Notifications"
