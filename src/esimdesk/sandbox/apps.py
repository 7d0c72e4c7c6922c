from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    """The sandbox: an upstream supplier (the simulator) and a payment provider that move no
    real profiles or money. It plugs itself into the supplier and provider registries and
    the scheduler here; nothing else imports it, so a deployment may leave it out
    (``ESIMDESK_SANDBOX=0``)."""

    name = "esimdesk.sandbox"
    label = "sandbox"
    verbose_name = _("Sandbox")

    def ready(self) -> None:
        from esimdesk.core import sweeps
        from esimdesk.payments import registry as payment_providers
        from esimdesk.provisioning import registry as suppliers
        from esimdesk.sandbox import simulator, simulator_events
        from esimdesk.sandbox.payment import SandboxProvider
        from esimdesk.sandbox.usage_simulation import (
            usage_reconciliation_sweep,
            usage_simulation_sweep,
        )

        suppliers.register("simulator", "esimdesk.sandbox.simulator.SimulatorProvider")
        payment_providers.register(SandboxProvider.name,
                                   "esimdesk.sandbox.payment.SandboxProvider",
                                   label=SandboxProvider.label, options=SandboxProvider.options)
        simulator.on_profile_issued(simulator_events.schedule_auto_progress)
        # Both do nothing unless the simulator is the upstream (the embedded demo default).
        sweeps.register("usage_simulation", usage_simulation_sweep)
        sweeps.register("usage_reconciliation", usage_reconciliation_sweep)
