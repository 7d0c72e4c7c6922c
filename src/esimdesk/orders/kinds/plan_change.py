"""``plan_change``: another personal plan, now or when the current one ends (rules in
``orders.plan_change``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from esimdesk.catalog.models import Plan, TopUpProduct
from esimdesk.core.errors import ValidationFailed
from esimdesk.esims.models import Esim
from esimdesk.orders import plan_change
from esimdesk.orders.kinds.personal import PersonalLine
from esimdesk.orders.kinds.renewal import renewal_note
from esimdesk.orders.lines import LineRequest, PricedLine
from esimdesk.orders.models import OrderLine

if TYPE_CHECKING:
    from django.utils.functional import Promise


class PlanChange(PersonalLine):
    type = "plan_change"
    verbose_name: str | Promise = gettext_lazy("Plan change")

    def price(self, *, user: Any, line: LineRequest, currency: str) -> PricedLine:
        return plan_change.price_plan_change(user, line, currency)

    def check_order(self, *, priced: Sequence[PricedLine], index: int) -> None:
        """A plan change is the only line for its eSIM in an order."""
        esim = priced[index].esim
        if esim is not None and sum(1 for p in priced if p.esim is not None
                                    and p.esim.pk == esim.pk) > 1:
            raise ValidationFailed(_("A plan change must be the only line for its eSIM in an "
                                     "order."), code="plan_change_not_alone",
                                   detail={"line": index, "iccid": esim.iccid})

    def describe(self, *, plan: Plan, esim: Esim | None, product: TopUpProduct | None,
                 when: str) -> str:
        name = esim.display_name if esim is not None else ""
        if when == OrderLine.When.NOW:
            return _("Plan change of %(esim)s, starting now: %(plan)s") % {
                "esim": name, "plan": plan.name}
        return _("Plan change of %(esim)s, when the current plan ends: %(plan)s") % {
            "esim": name, "plan": plan.name}

    def checkout_heading(self, priced: PricedLine) -> str:
        return self.quote_label(priced)

    def checkout_note(self, priced: PricedLine) -> str:
        if priced.when == OrderLine.When.NOW:
            return _("Your current plan ends the moment the change is made and the new plan "
                     "starts at once, with no reinstall. Plans already queued follow it.")
        return renewal_note()

    def fulfil(self, line: OrderLine) -> None:
        plan_change.fulfil_plan_change(line)


KIND = PlanChange()
