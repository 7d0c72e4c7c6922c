from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "esimdesk.catalog"
    label = "catalog"
    verbose_name = "Catalog"
