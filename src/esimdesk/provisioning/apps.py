from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "esimdesk.provisioning"
    label = "provisioning"
    verbose_name = "Provisioning"
