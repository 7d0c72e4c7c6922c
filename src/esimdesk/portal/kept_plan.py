"""The plan a visitor chose before being asked to sign in: read back from where they were
going (``accounts.next_url``), to show it on the sign-in pages and offer the guest checkout."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from django.urls import reverse

from esimdesk.catalog.models import Plan
from esimdesk.catalog.queries import active_plans
from esimdesk.core.money import Money


@dataclass(frozen=True)
class KeptPlan:
    plan: Plan
    currency: str
    price: Money | None

    @property
    def guest_url(self) -> str:
        return guest_checkout_url(self.plan.code, self.currency)


def guest_checkout_url(plan: str, currency: str) -> str:
    return reverse("portal:guest_checkout") + "?" + urlencode(
        {"plan": plan, "currency": currency})


def chosen_plan(target: str) -> KeptPlan | None:
    """The new eSIM's plan when ``target`` is the checkout of one (not a renewal, top-up or
    plan change, which need the traveller's eSIM); else None."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.path != reverse("portal:checkout"):
        return None
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if not query.get("plan") or any(query.get(k) for k in ("iccid", "product", "change")):
        return None
    plan = active_plans().filter(code=query["plan"], kind=Plan.Kind.PERSONAL).first()
    if plan is None:
        return None
    currency = (query.get("currency") or "").upper()[:3]
    price = plan.price_in(currency) if currency else None
    if price is None and not currency:
        first = plan.prices.all()[:1]
        price = first[0].money if first else None
        currency = price.currency if price else currency
    return KeptPlan(plan=plan, currency=currency, price=price)
