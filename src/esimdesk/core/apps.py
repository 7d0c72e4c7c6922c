from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "esimdesk.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.urls import register_converter

        from esimdesk import config
        from esimdesk.core import console_settings, deploy_checks  # noqa: F401 (registers)
        from esimdesk.core.inputs import IdConverter
        from esimdesk.core.third_party import name_models

        config.set_console_lookup(console_settings.lookup)
        # ``<id:pk>`` in every URL pattern: a row id within bigint, else no match (404).
        register_converter(IdConverter, "id")
        name_models()
