from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "esimdesk.catalog"
    label = "catalog"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        from esimdesk.catalog.bundles import is_bundle_code
        from esimdesk.provisioning import receivers

        # Supplier adapters ask whether a code they are handed is a bundle of theirs.
        receivers.provide_bundle_codes(is_bundle_code)
