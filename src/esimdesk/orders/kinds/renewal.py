"""``renewal``: one more period of a personal plan, queued after the eSIM's last one; or,
for low data (``starts`` = ``when_data_runs_out``), starting the moment the data of the plan
before it runs out (``subscriptions.data_out``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from esimdesk.catalog import bundles as supplier_bundles
from esimdesk.catalog.models import Plan, TopUpProduct
from esimdesk.core import clock
from esimdesk.core.errors import Conflict, ValidationFailed
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.orders.kinds.personal import PersonalLine, new_esim_text, personal_plan
from esimdesk.orders.lines import STARTS_WHEN_DATA_RUNS_OUT, LineRequest, PricedLine
from esimdesk.orders.models import OrderLine
from esimdesk.provisioning import registry as upstream
from esimdesk.subscriptions import data_out
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Period

if TYPE_CHECKING:
    from django.utils.functional import Promise


class Renewal(PersonalLine):
    type = "renewal"
    verbose_name: str | Promise = gettext_lazy("Renewal")
    can_start_when_data_runs_out = True

    def price(self, *, user: Any, line: LineRequest, currency: str) -> PricedLine:
        plan, price = personal_plan(line, currency)
        if not line.iccid:
            raise ValidationFailed(_("Say which eSIM to renew."), code="iccid_required")
        esim = esims.get_for_owner(user=user, iccid=line.iccid)
        if esim.status == Esim.Status.REVOKED or not hasattr(esim, "subscription"):
            raise Conflict(_("This eSIM can no longer be renewed."),
                           code="esim_not_renewable")
        return PricedLine(line.type, plan, esim, price,
                          low_data=line.starts == STARTS_WHEN_DATA_RUNS_OUT)

    def checkout_note(self, priced: PricedLine) -> str:
        return low_data_note() if priced.low_data else renewal_note()

    def label(self, line: OrderLine) -> str:
        return self._named(line.plan, line.esim, line.low_data)

    def quote_label(self, priced: PricedLine) -> str:
        return self._named(priced.plan, priced.esim, priced.low_data)

    def _named(self, plan: Plan, esim: Esim | None, low_data: bool) -> str:
        if esim is None or not low_data:
            return self.describe(plan=plan, esim=esim, product=None, when="")
        return _("Renewal of %(esim)s, starting when its data runs out: %(plan)s") % {
            "esim": esim.display_name, "plan": plan.name}

    def describe(self, *, plan: Plan, esim: Esim | None, product: TopUpProduct | None,
                 when: str) -> str:
        if esim is None:
            return new_esim_text(plan)
        return _("Renewal of %(esim)s: %(plan)s") % {"esim": esim.display_name,
                                                      "plan": plan.name}

    def fulfil(self, line: OrderLine) -> None:
        esim = line.esim
        assert esim is not None
        # A renewal goes to the supplier that issued the profile, whatever is configured
        # first now, under that supplier's bundle code for the plan.
        upstream.get(esim.upstream).apply_plan(
            reference=line.upstream_reference, iccid=esim.iccid,
            plan_code=supplier_bundles.code_for(line.plan, esim.upstream))
        with transaction.atomic():
            locked = OrderLine.objects.select_for_update().get(pk=line.pk)
            if locked.fulfilled_at is not None:
                return
            locked.period = subscriptions.add_period(subscription=esim.subscription,
                                                     plan=line.plan,
                                                     starts_on_data_out=locked.low_data)
            # Bought after the data had run out: it starts now.
            data_out.start_if_data_out(locked.period, actor="fulfilment")
            locked.fulfilled_at = clock.now()
            locked.save(update_fields=["period", "fulfilled_at"])


KIND = Renewal()


def renewal_note() -> str:
    """A plan queued after the running one, as checkout words it."""
    return _("The new plan starts the moment the current one ends — no gap, no reinstall.")


def low_data_note() -> str:
    """A renewal for low data, as checkout words it."""
    return _("The new plan starts the moment your data runs out, and the rest of your "
             "current plan's days end then: they cannot be used later. If your data lasts, "
             "it starts when your current plan ends. Already out of data? It starts at once.")


def application_reference(period: Period) -> str | None:
    """The reference under which the order line that bought ``period`` applied its plan
    upstream (``subscriptions.data_out`` applies it again, idempotently)."""
    line = OrderLine.objects.filter(period=period).only("pk").first()
    return line.upstream_reference if line is not None else None
