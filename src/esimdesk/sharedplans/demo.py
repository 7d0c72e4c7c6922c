"""Demo group plans: family plans for Europe and for each popular destination, and an
organisation plan for the world, with their per-member price tiers. Loading twice changes
nothing (keyed by code). Needs the demo catalog (``catalog.demo.load_catalog``) first."""

from __future__ import annotations

from django.db import transaction

from esimdesk.catalog.demo import COUNTRIES, COUNTRY_PRICES, FIVE_G, RATE_HUNDREDTHS, converted
from esimdesk.catalog.models import GB, Country, Plan, Price, Region
from esimdesk.core.i18n import country_name
from esimdesk.sharedplans.models import GroupPlanTerms, MemberPriceTier

# code, kind, region, data GB per member, minutes, USD cents per member, max members,
# tiers (members, % off), intra-group call discount %, what a capped member gets, names
GROUP_PLANS = [
    ("family-europe-5gb-month", Plan.Kind.FAMILY, "europe", 5, 0, 1200, 6,
     [(3, 10), (4, 15), (5, 20)], 0, Plan.Depletion.THROTTLE,
     ("Family Europe 5 GB per person, 1 month", "欧洲家庭套餐 每人 5 GB，1 个月"),
     ("One bill and one shared data pool for up to 6 people; the more of you, the cheaper "
      "each person is.", "最多 6 人共享一个流量池、一张账单；人越多，人均越便宜。")),
    ("team-global-10gb-month", Plan.Kind.ENTERPRISE, "global", 10, 100, 3500, 500,
     [(10, 10), (50, 20), (200, 30)], 50, Plan.Depletion.STOP,
     ("Team Global 10 GB per employee, 1 month", "全球企业套餐 每位员工 10 GB，1 个月"),
     ("A shared pool for your staff abroad, with calls; calls between colleagues at half "
      "price; monthly invoice available.",
      "为出差员工提供共享流量池和通话；同事之间通话半价；可按月开具发票。")),
]

FAMILY_TIERS = [(3, 10), (4, 15), (5, 20)]


def family_plans() -> list[tuple]:
    """A family plan for each popular destination: 10 GB per person for a month, for up to
    6 people, per person at about 70 % of the destination's 10 GB personal plan."""
    made = []
    for code, _region, tier, popular in COUNTRIES:
        if not popular:
            continue
        en, zh = country_name(code, "en"), country_name(code, "zh-hans")
        usd = COUNTRY_PRICES[tier]["month"] * 70 // 100
        made.append((f"family-{code.lower()}-10gb-month", Plan.Kind.FAMILY, code, 10, 0, usd,
                     6, FAMILY_TIERS, 0, Plan.Depletion.THROTTLE,
                     (f"Family {en} 10 GB per person, 1 month",
                      f"{zh}家庭套餐 每人 10 GB，1 个月"),
                     (f"One bill and one shared data pool in {en} for up to 6 people; the more "
                      "of you, the cheaper each person is.",
                      f"在{zh}最多 6 人共享一个流量池、一张账单；人越多，人均越便宜。")))
    return made


@transaction.atomic
def load_group_plans() -> int:
    every = GROUP_PLANS + family_plans()
    for index, (code, kind, region, data_gb, minutes, usd, max_members, tiers, voice_off,
                cap_action, name, description) in enumerate(every):
        # ``region`` is a region's code, or a country's (two capitals) for a country plan.
        country = region if len(region) == 2 and region.isupper() else None
        area = None if country else Region.objects.get(code=region)
        coverage = (Plan.Coverage.COUNTRY if country else
                    Plan.Coverage.GLOBAL if region == "global" else Plan.Coverage.REGION)
        plan, _ = Plan.objects.update_or_create(code=code, defaults={
            "coverage": coverage, "region": area, "kind": kind,
            "network_5g": country in FIVE_G, "hotspot": True, "validity_unit": Plan.Unit.MONTH,
            "validity_count": 1, "data_bytes": data_gb * GB, "voice_seconds": minutes * 60,
            "sms_count": 0, "depletion": Plan.Depletion.THROTTLE, "name_en": name[0],
            "name_zh_hans": name[1], "description_en": description[0],
            "description_zh_hans": description[1], "is_active": True, "sort": 900 + index})
        countries = (Country.objects.filter(code=country) if country else
                     Country.objects.all() if region == "global"
                     else Country.objects.filter(region=area))
        plan.countries.set(countries)
        prices = {"USD": usd, **{cur: converted(usd, cur) for cur in RATE_HUNDREDTHS}}
        for currency, amount in prices.items():
            Price.objects.update_or_create(plan=plan, currency=currency,
                                           defaults={"amount": amount})
        terms, _ = GroupPlanTerms.objects.update_or_create(plan=plan, defaults={
            "max_members": max_members, "min_members": 2 if kind == Plan.Kind.FAMILY else 1,
            "intra_group_voice_percent_off": voice_off, "cap_action": cap_action})
        for members, percent in tiers:
            MemberPriceTier.objects.update_or_create(terms=terms, min_members=members,
                                                     defaults={"percent_off": percent})
    return len(every)
