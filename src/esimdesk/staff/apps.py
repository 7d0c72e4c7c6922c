from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "esimdesk.staff"
    label = "staff"
    verbose_name = "Staff"
