from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "esimdesk.orders"
    label = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from esimdesk.orders.kinds import new_esim, plan_change, registry, renewal, top_up
        from esimdesk.subscriptions import data_out

        for kind in (new_esim.KIND, renewal.KIND, top_up.KIND, plan_change.KIND):
            registry.register(kind)
        data_out.set_application_reference(renewal.application_reference)
