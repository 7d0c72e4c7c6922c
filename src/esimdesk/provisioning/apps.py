from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvisioningConfig(AppConfig):
    name = "esimdesk.provisioning"
    label = "provisioning"
    verbose_name = _("Provisioning")

    def ready(self) -> None:
        from django.core import checks

        from esimdesk import config
        from esimdesk.provisioning import registry
        from esimdesk.provisioning.checks import supplier_callbacks

        checks.register(supplier_callbacks, "esimdesk", deploy=True)
        # Each supplier adapter declares its own options; ``esimdesk check`` and the staff
        # console list them with the platform's.
        config.add_option_source(registry.declared_options)
