from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharedPlansConfig(AppConfig):
    """Family and organisation plans, above orders and payments: it fills the registries
    of the apps below (order line kinds, pooled charging, reminder sweeps, group renewals,
    the invoice payment method) and listens to what the groups app announces."""

    name = "esimdesk.sharedplans"
    label = "sharedplans"
    verbose_name = _("Family and organisation plans")

    def ready(self) -> None:
        from esimdesk.groups import services as groups
        from esimdesk.groups.signals import caps_changed
        from esimdesk.orders.kinds import registry
        from esimdesk.payments import autorenew, methods
        from esimdesk.portal import pages, pool_cards
        from esimdesk.sharedplans import (
            invoicing,
            kinds,
            plans,
            pool_reminders,
            pool_shares,
            pooled,
            pools,
            receivers,
            urls,
        )
        from esimdesk.subscriptions import reminders
        from esimdesk.usage import charging

        for kind in kinds.KINDS:
            registry.register(kind)
        charging.register_pooled_charger(pooled.charge_pooled_rows)
        reminders.EXTRA_SWEEPS["pools"] = pool_reminders.pool_expiry_sweep
        autorenew.set_group_renewal_order(plans.group_renewal_order)
        pages.register(urls.portal_patterns)
        pool_cards.register_pool_reader(pool_shares.pool_shares)
        # An organisation's monthly invoice: a payment method that settles on account.
        methods.register(invoicing.InvoiceMethod())
        groups.register_pool_data_total(pools.pool_data_total)
        caps_changed.connect(receivers.on_caps_changed,
                             dispatch_uid="sharedplans.receivers.on_caps_changed")
