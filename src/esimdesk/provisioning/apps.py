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
        from esimdesk.provisioning.suppliers.es2plus.checks import es2plus_configuration
        from esimdesk.provisioning.suppliers.esimgo.checks import esimgo_configuration

        checks.register(supplier_callbacks, "esimdesk", deploy=True)
        checks.register(es2plus_configuration, "esimdesk", deploy=True)
        checks.register(esimgo_configuration, "esimdesk", deploy=True)
        # Each supplier adapter declares its own options; ``esimdesk check`` and the staff
        # console list them with the platform's.
        config.add_option_source(registry.declared_options)
