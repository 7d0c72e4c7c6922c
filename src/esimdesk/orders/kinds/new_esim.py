"""``new_esim``: a new eSIM profile with a period of a personal plan on it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from esimdesk import config
from esimdesk.catalog import bundles as supplier_bundles
from esimdesk.catalog.models import Plan, TopUpProduct
from esimdesk.core import audit, clock
from esimdesk.esims import services as esims
from esimdesk.esims import upstream_revoke
from esimdesk.esims.models import ESIM_STATES, Esim
from esimdesk.orders.kinds.personal import PersonalLine, new_esim_text, personal_plan
from esimdesk.orders.lines import LineRequest, PricedLine
from esimdesk.orders.models import OrderLine
from esimdesk.provisioning import calls as supplier_calls
from esimdesk.provisioning import registry as upstream
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    ProfileOrder,
    RetryableUpstreamError,
    UpstreamProvider,
)
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Period

if TYPE_CHECKING:
    from django.utils.functional import Promise


class NewEsim(PersonalLine):
    type = "new_esim"
    verbose_name: str | Promise = gettext_lazy("New eSIM")
    makes_esim = True

    def price(self, *, user: Any, line: LineRequest, currency: str) -> PricedLine:
        plan, price = personal_plan(line, currency)
        return PricedLine(line.type, plan, None, price)

    def describe(self, *, plan: Plan, esim: Esim | None, product: TopUpProduct | None,
                 when: str) -> str:
        return new_esim_text(plan)

    def checkout_note(self, priced: PricedLine) -> str:
        ready = _("Your eSIM is ready to install within seconds of payment. Check that your "
                  "phone supports eSIM and is not carrier-locked.")
        if priced.plan.validity_starts == Plan.ValidityStarts.PURCHASE:
            return ready
        return ready + " " + _("Buy and install it before you travel: the days of your plan "
                               "only start counting when it is first used.")

    def fulfil(self, line: OrderLine) -> None:
        supplier, profile = new_profile(line)
        with transaction.atomic():
            locked = OrderLine.objects.select_for_update().get(pk=line.pk)
            if locked.fulfilled_at is not None:
                return
            esim = esims.create_esim(owner=line.order.user, iccid=profile.iccid,
                                     smdp_address=profile.smdp_address,
                                     matching_id=profile.matching_id,
                                     confirmation_code=profile.confirmation_code,
                                     upstream=supplier.name,
                                     upstream_reference=profile.upstream_reference)
            locked.esim = esim
            locked.period = subscriptions.subscribe_esim(esim=esim, plan=line.plan)
            locked.fulfilled_at = clock.now()
            locked.save(update_fields=["esim", "period", "fulfilled_at"])

    def take_back(self, *, line: OrderLine, actor: str, reason: str) -> None:
        """End the period, and revoke the eSIM if it was never installed: here, and at its
        supplier from a task queued in this transaction (``esims.upstream_revoke``), so the
        activation code stops working. The refund is already confirmed: whatever the
        supplier answers, the money stays refunded."""
        super().take_back(line=line, actor=actor, reason=reason)
        esim = line.esim
        if (esim is not None and ESIM_STATES.allows(esim.status, Esim.Status.REVOKED)
                and esim.status == Esim.Status.READY):
            revoked = esims.transition(esim=esim, to=Esim.Status.REVOKED, actor_type="task",
                                       actor=actor, reason="refunded before installation")
            upstream_revoke.request(esim=revoked, cause=f"{reason}, before installation",
                                    actor=actor)

    def refund_blocker(self, line: OrderLine, *, now: dt.datetime) -> str | None:
        """Any of the plan used; or installed, unless the plan is still waiting for first
        use (then nothing of it was used: refundable in full, installed or not)."""
        period = line.period
        waiting = period is not None and period.state == Period.State.PENDING
        if line.esim is not None and line.esim.status != Esim.Status.READY and not waiting:
            return "installed"
        if period is not None and any(a.used for a in period.allowances.all()):
            return "installed"
        return None

    def refund_note(self, line: OrderLine) -> str:
        return _("Not installed yet and changed your mind? You can get your money back.")


def new_profile(line: OrderLine) -> tuple[UpstreamProvider, ProfileOrder]:
    """Order the profile from the plan's suppliers in turn, each under its own bundle code.

    The suppliers and codes come from ``catalog.bundles.suppliers_for``: the plan's active
    bundles in priority order, or every configured supplier under the plan's own code for a
    plan that maps none. ``line.supplier_index`` is the position in that list.
    A supplier that refuses for good, or keeps failing for ``ESIMDESK_ACTIVATION_ATTEMPTS``
    tries, is left for the next one; a passing failure below that count is re-raised so the
    task retries later with backoff. Each supplier gets its own idempotent reference, so a
    retry never orders two profiles from the same supplier.
    """
    choices = supplier_bundles.suppliers_for(line.plan)
    if not choices:
        raise FinalUpstreamError(f"plan {line.plan.code}: every supplier bundle is switched "
                                 "off", code="no_supplier_bundle")
    per_supplier = int(config.env("ESIMDESK_ACTIVATION_ATTEMPTS"))
    while True:
        choice = choices[min(line.supplier_index, len(choices) - 1)]
        supplier = upstream.get(choice.supplier)
        try:
            return supplier, supplier.order_profile(reference=line.supplier_reference,
                                                    plan_code=choice.code)
        except RetryableUpstreamError as error:
            line.supplier_attempts += 1
            if line.supplier_attempts < per_supplier or \
                    line.supplier_index + 1 >= len(choices):
                OrderLine.objects.filter(pk=line.pk).update(
                    supplier_attempts=line.supplier_attempts)
                raise
            reason = f"{supplier.name} kept failing: {error}"
        except FinalUpstreamError as error:
            if line.supplier_index + 1 >= len(choices):
                raise
            reason = f"{supplier.name} refused: {error}"
        line.supplier_index += 1
        line.supplier_attempts = 0
        OrderLine.objects.filter(pk=line.pk).update(supplier_index=line.supplier_index,
                                                    supplier_attempts=0)
        following = choices[line.supplier_index]
        supplier_calls.failed_over(supplier=supplier.name)
        # ``before`` names the supplier left: the business figures count failovers by it.
        audit.record(action="activation.failover", obj=line, actor_type="task",
                     actor="fulfilment", before={"supplier": supplier.name},
                     after={"supplier": following.supplier, "bundle": following.code},
                     reason=reason[:500])


KIND = NewEsim()
