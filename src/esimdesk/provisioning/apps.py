from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "esimdesk.provisioning"
    label = "provisioning"
    verbose_name = "Provisioning"

    def ready(self) -> None:
        from django.core import checks

        from esimdesk.provisioning.checks import supplier_callbacks

        checks.register(supplier_callbacks, "esimdesk", deploy=True)
