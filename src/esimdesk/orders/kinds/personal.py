"""What the personal kinds (one eSIM each) share: the plan a line names, and labels drawn
from the line's plan, eSIM, product and timing whether it is stored or only priced."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from esimdesk.catalog import queries as catalog
from esimdesk.catalog.models import Plan, TopUpProduct
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.money import Money
from esimdesk.esims.models import Esim
from esimdesk.orders.kinds.base import LineDefaults

if TYPE_CHECKING:
    from esimdesk.orders.lines import LineRequest, PricedLine
    from esimdesk.orders.models import OrderLine


def personal_plan(line: LineRequest, currency: str) -> tuple[Plan, Money]:
    """The personal plan ``line`` names and its price in ``currency``."""
    if not line.plan:
        raise ValidationFailed(_("Choose a plan."), code="plan_required")
    plan = catalog.get_plan(line.plan)
    if plan.kind != Plan.Kind.PERSONAL:
        raise ValidationFailed(code="plan_kind_unavailable", detail={"kind": plan.kind})
    return plan, catalog.plan_price(plan, currency)


def new_esim_text(plan: Plan) -> str:
    return _("New eSIM: %(plan)s") % {"plan": plan.name}


class PersonalLine(LineDefaults):
    """Labels from ``describe``, the same for a stored and a priced line."""

    def describe(self, *, plan: Plan, esim: Esim | None, product: TopUpProduct | None,
                 when: str) -> str:
        raise NotImplementedError

    def label(self, line: OrderLine) -> str:
        return self.describe(plan=line.plan, esim=line.esim, product=line.product,
                             when=line.when)

    def quote_label(self, priced: PricedLine) -> str:
        return self.describe(plan=priced.plan, esim=priced.esim, product=priced.product,
                             when=priced.when)
