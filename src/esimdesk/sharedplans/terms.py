"""What a group plan is and costs: the names of the four group line types, the plan's group
terms and the price of N seats (tiers, discount, pool). Plans, seats and top-ups all read
it, so it sits below them."""

from __future__ import annotations

from typing import Any

from esimdesk.catalog import queries as catalog
from esimdesk.catalog.models import Plan
from esimdesk.core.errors import ValidationFailed
from esimdesk.sharedplans.models import GroupPlanTerms

GROUP_PLAN = "group_plan"
GROUP_RENEWAL = "group_renew"
GROUP_TOP_UP = "group_topup"
GROUP_SEATS = "group_seats"


def terms_of(plan: Plan) -> GroupPlanTerms:
    terms = GroupPlanTerms.objects.filter(plan=plan).prefetch_related("tiers").first()
    if plan.kind == Plan.Kind.PERSONAL or terms is None:
        raise ValidationFailed(code="not_a_group_plan", detail={"plan": plan.code})
    return terms


def breakdown(*, plan: Plan, terms: GroupPlanTerms, members: int,
              currency: str) -> dict[str, Any]:
    """What ``members`` seats cost, line by line, for the checkout preview and the API."""
    unit = catalog.plan_price(plan, currency)
    tiers = sorted(terms.tiers.all(), key=lambda t: t.min_members)
    percent = max((t.percent_off for t in tiers if t.min_members <= members), default=0)
    gross = unit.amount * members
    discount = (gross * percent + 50) // 100  # integer half-up: no float near money
    return {"members": members, "unit_price": unit.amount, "gross": gross,
            "percent_off": percent, "discount": discount, "total": gross - discount,
            "currency": unit.currency,
            "tiers": [{"min_members": t.min_members, "percent_off": t.percent_off}
                      for t in tiers],
            "intra_group_voice_percent_off": terms.intra_group_voice_percent_off,
            "pool": [{"kind": kind, "total": total * members}
                     for kind, total in plan.allowances()]}
