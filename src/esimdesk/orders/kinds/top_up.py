"""``top_up``: extra buckets on the period an eSIM runs (rules in ``orders.topups``)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from esimdesk.catalog.models import Plan, TopUpProduct
from esimdesk.esims.models import Esim
from esimdesk.orders import topups
from esimdesk.orders.kinds.personal import PersonalLine, new_esim_text
from esimdesk.orders.lines import LineRequest, PricedLine
from esimdesk.orders.models import OrderLine

if TYPE_CHECKING:
    from django.utils.functional import Promise


def top_up_refund_blocker(line: OrderLine) -> str | None:
    """Days an extending top-up added cannot be handed back; used quantities neither.
    Shared by every kind that sells top-up buckets."""
    if line.target_period_id and line.product and line.product.extends_validity_days:
        return "started"
    if not topups.is_untouched(line):
        return "installed"
    return None


class TopUp(PersonalLine):
    type = "top_up"
    verbose_name: str | Promise = gettext_lazy("Top-up")

    def price(self, *, user: Any, line: LineRequest, currency: str) -> PricedLine:
        return topups.price_top_up(user, line, currency)

    def describe(self, *, plan: Plan, esim: Esim | None, product: TopUpProduct | None,
                 when: str) -> str:
        if product is None:
            return new_esim_text(plan)
        return _("Top-up of %(esim)s: %(product)s") % {
            "esim": esim.display_name if esim is not None else "", "product": product.name}

    ends_with_running_plan = True

    def checkout_heading(self, priced: PricedLine) -> str:
        return self.quote_label(priced)

    def checkout_note(self, priced: PricedLine) -> str:
        days = priced.product.extends_validity_days if priced.product is not None else 0
        if days:
            return ngettext(
                "It is added to the plan running now, which lasts %(days)s day longer; plans "
                "queued after it move with it.",
                "It is added to the plan running now, which lasts %(days)s days longer; plans "
                "queued after it move with it.", days) % {"days": days}
        return _("It is added to the plan running now and expires with it. The plan’s end "
                 "does not change.")

    def fulfil(self, line: OrderLine) -> None:
        topups.fulfil_top_up(line)

    def take_back(self, *, line: OrderLine, actor: str, reason: str) -> None:
        topups.take_back(line=line, actor=actor, reason=reason)
        super().take_back(line=line, actor=actor, reason=reason)

    def refund_blocker(self, line: OrderLine, *, now: dt.datetime) -> str | None:
        return top_up_refund_blocker(line)

    def refund_note(self, line: OrderLine) -> str:
        return _("Nothing of this top-up used yet? You can get your money back.")


KIND = TopUp()
