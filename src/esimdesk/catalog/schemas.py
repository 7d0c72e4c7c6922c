
from typing import Any

from ninja import Field, Schema

from esimdesk.catalog.models import Plan
from esimdesk.core.api.schemas import MoneyOut, money_out
from esimdesk.core.units import UNITS


class AllowanceSpec(Schema):
    kind: str
    total: int
    unit: str


class ValidityOut(Schema):
    unit: str
    count: int
    label: str


class PlanOut(Schema):
    code: str
    name: str
    description: str
    coverage: str
    region: str | None
    countries: list[str]
    kind: str
    validity: ValidityOut
    allowances: list[AllowanceSpec]
    depletion: str
    network_5g: bool = Field(description="the plan's data runs on 5G networks where they "
                                         "exist (else 4G/LTE)")
    hotspot: bool = Field(description="the data may be shared with other devices "
                                      "(tethering / personal hotspot)")
    price: MoneyOut | None
    prices: list[MoneyOut]


def plan_out(plan: Plan, currency: str | None) -> dict[str, Any]:
    prices = [p.money for p in plan.prices.all()]
    chosen = next((m for m in prices if m.currency == currency), None) if currency else None
    return {
        "code": plan.code,
        "name": plan.name,
        "description": plan.description,
        "coverage": plan.coverage,
        "region": plan.region.code if plan.region else None,
        "countries": [c.code for c in plan.countries.all()],
        "kind": plan.kind,
        "validity": {"unit": plan.validity_unit, "count": plan.validity_count,
                     "label": plan.validity_label},
        "allowances": [{"kind": k, "total": t, "unit": UNITS[k]} for k, t in plan.allowances()],
        "depletion": plan.depletion,
        "network_5g": plan.network_5g,
        "hotspot": plan.hotspot,
        "price": money_out(chosen) if chosen else None,
        "prices": [money_out(m) for m in prices],
    }
