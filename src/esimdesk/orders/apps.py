from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "esimdesk.orders"
    label = "orders"
    verbose_name = "Orders"
