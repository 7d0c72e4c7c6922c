"""The demo catalog: 40 countries, four regions, daily / monthly / yearly plans, priced in
CNY, USD, EUR and HKD, named in English and Simplified Chinese. Loading it twice changes
nothing (everything is keyed by code)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from esimdesk.catalog.models import (
    GB,
    Country,
    ExchangeRate,
    Plan,
    Price,
    Region,
    SupplierBundle,
    TopUpPrice,
    TopUpProduct,
)
from esimdesk.core import clock
from esimdesk.core.i18n import country_name

REGIONS = [
    ("asia", "Asia-Pacific", "亚太", 1),
    ("europe", "Europe", "欧洲", 2),
    ("americas", "Americas", "美洲", 3),
    ("global", "Global", "全球", 4),
]

# code, region, price tier (1 cheapest .. 3 dearest), popular
COUNTRIES = [
    ("JP", "asia", 2, True), ("KR", "asia", 2, True), ("TH", "asia", 1, True),
    ("SG", "asia", 2, True), ("MY", "asia", 1, False), ("VN", "asia", 1, False),
    ("ID", "asia", 1, False), ("PH", "asia", 1, False), ("TW", "asia", 2, False),
    ("HK", "asia", 2, True), ("MO", "asia", 2, False), ("CN", "asia", 2, False),
    ("IN", "asia", 1, False), ("AE", "asia", 3, False), ("AU", "asia", 3, True),
    ("NZ", "asia", 3, False),
    ("GB", "europe", 2, True), ("FR", "europe", 2, True), ("DE", "europe", 2, False),
    ("IT", "europe", 2, True), ("ES", "europe", 2, False), ("PT", "europe", 2, False),
    ("NL", "europe", 2, False), ("CH", "europe", 3, True), ("AT", "europe", 2, False),
    ("GR", "europe", 2, False), ("IE", "europe", 2, False), ("SE", "europe", 2, False),
    ("NO", "europe", 3, False), ("DK", "europe", 2, False), ("PL", "europe", 1, False),
    ("CZ", "europe", 1, False), ("TR", "europe", 1, False),
    ("US", "americas", 3, True), ("CA", "americas", 3, True), ("MX", "americas", 2, False),
    ("BR", "americas", 2, False), ("AR", "americas", 2, False), ("CL", "americas", 2, False),
    ("PE", "americas", 2, False),
]

# USD cents by tier for: 1 GB/day, 10 GB/month, 30 GB/month with calls, 100 GB/year
COUNTRY_PRICES = {
    1: {"day": 199, "month": 1299, "month_plus": 2499, "year": 8900},
    2: {"day": 299, "month": 1699, "month_plus": 2999, "year": 11900},
    3: {"day": 399, "month": 2199, "month_plus": 3699, "year": 14900},
}

# Prices in other currencies: a fixed list rate in hundredths (integer arithmetic, no float),
# then rounded to a price point (x.99 EUR, whole yuan ending in 9 or 0, whole HK dollars).
RATE_HUNDREDTHS = {"CNY": 720, "EUR": 93, "HKD": 780}

# Where the demo country plans run on 5G; every plan but the daily ones allows a hotspot.
FIVE_G = {"JP", "KR", "SG", "HK", "TW", "CN", "AE", "AU", "GB", "FR", "DE", "IT", "ES", "NL",
          "CH", "SE", "US", "CA"}


def converted(usd_cents: int, currency: str) -> int:
    # Integer arithmetic on minor units: rate as a fraction over 100 avoids float money.
    minor = usd_cents * RATE_HUNDREDTHS[currency] // 100
    if currency == "EUR":
        return max(99, (minor // 100) * 100 + 99)
    if currency == "CNY":
        yuan = -(-minor // 100)
        return (yuan + (9 - yuan % 10) if yuan % 10 else yuan) * 100
    return -(-minor // 100) * 100  # HKD: whole dollars, rounded up


def _plan(code: str, *, coverage: str, region: Region | None, countries: list[Country],
          unit: str, count: int, data_gb: int, voice_min: int, sms: int, usd: int,
          name: tuple[str, str], description: tuple[str, str], sort: int,
          depletion: str = Plan.Depletion.THROTTLE, network_5g: bool = False) -> Plan:
    plan, _ = Plan.objects.update_or_create(
        code=code,
        defaults={
            "coverage": coverage, "region": region, "kind": Plan.Kind.PERSONAL,
            "validity_unit": unit, "validity_count": count, "data_bytes": data_gb * GB,
            "voice_seconds": voice_min * 60, "sms_count": sms, "depletion": depletion,
            "name_en": name[0], "name_zh_hans": name[1],
            "description_en": description[0], "description_zh_hans": description[1],
            "is_active": True, "sort": sort,
            "network_5g": network_5g, "hotspot": unit != Plan.Unit.DAY,
        },
    )
    plan.countries.set(countries)
    prices = {"USD": usd, **{cur: converted(usd, cur) for cur in RATE_HUNDREDTHS}}
    for currency, amount in prices.items():
        Price.objects.update_or_create(plan=plan, currency=currency, defaults={"amount": amount})
    return plan


@transaction.atomic
def load_catalog() -> int:
    """Create or refresh the demo catalog; returns the number of plans."""
    regions = {}
    for code, en, zh, sort in REGIONS:
        regions[code], _ = Region.objects.update_or_create(
            code=code, defaults={"name_en": en, "name_zh_hans": zh, "sort": sort})
    countries = {}
    for code, region, _tier, popular in COUNTRIES:
        countries[code], _ = Country.objects.update_or_create(
            code=code, defaults={"region": regions[region], "popular": popular})

    plans = 0
    for index, (code, _region, tier, _popular) in enumerate(COUNTRIES):
        en, zh = country_name(code, "en"), country_name(code, "zh-hans")
        price = COUNTRY_PRICES[tier]
        slug = code.lower()
        here = [countries[code]]
        base = index * 10
        fast = code in FIVE_G
        _plan(f"{slug}-1gb-day", coverage="country", region=None, countries=here, unit="day",
              count=1, data_gb=1, voice_min=0, sms=0, usd=price["day"], sort=base,
              network_5g=fast,
              name=(f"{en} 1 GB / day", f"{zh} 每日 1 GB"),
              description=(f"1 GB of high-speed data in {en} for 24 hours; renew day by day "
                           "without reinstalling.",
                           f"在{zh}享受 24 小时 1 GB 高速流量；按天续订，无需重新安装。"))
        _plan(f"{slug}-10gb-month", coverage="country", region=None, countries=here,
              unit="month", count=1, data_gb=10, voice_min=0, sms=0, usd=price["month"],
              sort=base + 1, network_5g=fast,
              name=(f"{en} 10 GB / month", f"{zh} 每月 10 GB"),
              description=(f"10 GB of data in {en} for one month. Slower speed after the "
                           "10 GB, never a surprise bill.",
                           f"在{zh}一个月内使用 10 GB 流量。用完后降速，不会产生额外费用。"))
        _plan(f"{slug}-30gb-month-calls", coverage="country", region=None, countries=here,
              unit="month", count=1, data_gb=30, voice_min=100, sms=50,
              usd=price["month_plus"], sort=base + 2, network_5g=fast,
              name=(f"{en} 30 GB + calls / month", f"{zh} 每月 30 GB + 通话"),
              description=(f"30 GB of data, 100 minutes of calls and 50 SMS in {en} for one "
                           "month, with a local number.",
                           f"在{zh}一个月内使用 30 GB 流量、100 分钟通话和 50 条短信，"
                           "附带本地号码。"))
        _plan(f"{slug}-100gb-year", coverage="country", region=None, countries=here,
              unit="year", count=1, data_gb=100, voice_min=0, sms=0, usd=price["year"],
              sort=base + 3, network_5g=fast,
              name=(f"{en} 100 GB / year", f"{zh} 全年 100 GB"),
              description=(f"100 GB to use in {en} over a whole year, for frequent visitors.",
                           f"全年在{zh}使用 100 GB 流量，适合常去的旅客。"))
        plans += 4

    regional = [
        ("asia", 20, 2999, 20, "Asia-Pacific 20 GB / month", "亚太 每月 20 GB"),
        ("europe", 20, 2799, 20, "Europe 20 GB / month", "欧洲 每月 20 GB"),
        ("americas", 15, 3299, 15, "Americas 15 GB / month", "美洲 每月 15 GB"),
    ]
    for region_code, gb, usd, _, en, zh in regional:
        region = regions[region_code]
        members = [c for c in countries.values() if c.region_id == region.pk]
        _plan(f"{region_code}-{gb}gb-month", coverage="region", region=region, countries=members,
              unit="month", count=1, data_gb=gb, voice_min=0, sms=0, usd=usd, sort=500,
              name=(en, zh),
              description=(f"One eSIM for {len(members)} countries in {region.name_en}: "
                           f"{gb} GB for one month.",
                           f"一张 eSIM 通行{region.name_zh_hans} {len(members)} 个国家和地区："
                           f"一个月 {gb} GB。"))
        _plan(f"{region_code}-1gb-day", coverage="region", region=region, countries=members,
              unit="day", count=1, data_gb=1, voice_min=0, sms=0, usd=499, sort=501,
              name=(f"{region.name_en} 1 GB / day", f"{region.name_zh_hans} 每日 1 GB"),
              description=(f"1 GB per day across {region.name_en}; cross borders without "
                           "changing eSIM.",
                           f"{region.name_zh_hans}通用，每日 1 GB，跨境无需更换 eSIM。"))
        plans += 2

    everywhere = list(countries.values())
    global_region = regions["global"]
    _plan("global-10gb-month", coverage="global", region=global_region, countries=everywhere,
          unit="month", count=1, data_gb=10, voice_min=60, sms=30, usd=3999, sort=900,
          name=("Global 10 GB / month", "全球 每月 10 GB"),
          description=(f"{len(everywhere)} countries, 10 GB, 60 minutes and 30 SMS for one "
                       "month.",
                       f"覆盖 {len(everywhere)} 个国家和地区："
                       "一个月 10 GB、60 分钟通话、30 条短信。"))
    _plan("global-50gb-year", coverage="global", region=global_region, countries=everywhere,
          unit="year", count=1, data_gb=50, voice_min=0, sms=0, usd=12900, sort=901,
          name=("Global 50 GB / year", "全球 全年 50 GB"),
          description=("50 GB to use anywhere we cover, valid for a year.",
                       "在所有覆盖地区使用 50 GB 流量，有效期一年。"))
    load_top_ups()
    load_supplier_bundles()
    load_exchange_rates()
    return plans + 2


# code, GB, minutes, SMS, extra days, USD cents, plans (None: any personal plan), names,
# descriptions
TOP_UPS = [
    ("topup-1gb", 1, 0, 0, 0, 499, None, ("+1 GB data", "+1 GB 流量"),
     ("1 GB more for the plan running now; it ends with that plan.",
      "为当前套餐增加 1 GB 流量，随该套餐一同到期。")),
    ("topup-3gb", 3, 0, 0, 0, 1199, None, ("+3 GB data", "+3 GB 流量"),
     ("3 GB more for the plan running now; it ends with that plan.",
      "为当前套餐增加 3 GB 流量，随该套餐一同到期。")),
    ("topup-5gb", 5, 0, 0, 0, 1799, None, ("+5 GB data", "+5 GB 流量"),
     ("5 GB more for the plan running now; it ends with that plan.",
      "为当前套餐增加 5 GB 流量，随该套餐一同到期。")),
    ("topup-100min-50sms", 0, 100, 50, 0, 599, "calls",
     ("+100 minutes & 50 SMS", "+100 分钟通话和 50 条短信"),
     ("100 more minutes of calls and 50 SMS for the plan running now.",
      "为当前套餐增加 100 分钟通话和 50 条短信。")),
    ("topup-2gb-7days", 2, 0, 0, 7, 899, "long", ("+2 GB and 7 more days", "+2 GB 并延长 7 天"),
     ("2 GB more, and the plan running now (with any plan queued after it) lasts 7 days "
      "longer.", "增加 2 GB 流量，当前套餐（及其后排队的套餐）顺延 7 天。")),
]


def load_top_ups() -> int:
    """Create or refresh the demo top-up products (keyed by code)."""
    personal = Plan.objects.filter(kind=Plan.Kind.PERSONAL)
    scopes = {
        None: [],
        "calls": list(personal.filter(voice_seconds__gt=0)),
        "long": list(personal.exclude(validity_unit=Plan.Unit.DAY)),
    }
    for sort, (code, gb, minutes, sms, days, usd, scope, name, description) in enumerate(
            TOP_UPS):
        product, _ = TopUpProduct.objects.update_or_create(
            code=code,
            defaults={"name_en": name[0], "name_zh_hans": name[1],
                      "description_en": description[0], "description_zh_hans": description[1],
                      "data_bytes": gb * GB, "voice_seconds": minutes * 60, "sms_count": sms,
                      "extends_validity_days": days, "is_active": True, "sort": sort})
        product.plans.set(scopes[scope])
        prices = {"USD": usd, **{cur: converted(usd, cur) for cur in RATE_HUNDREDTHS}}
        for currency, amount in prices.items():
            TopUpPrice.objects.update_or_create(product=product, currency=currency,
                                                defaults={"amount": amount})
    return len(TOP_UPS)


# What a period costs at the simulator, as a share (%) of the plan's USD price. Most plans
# keep a healthy margin; the global plans show the margins page's flags (thin, and a loss
# leader sold below cost).
SIMULATOR_COST_SHARE = {"-1gb-day": 62, "-10gb-month": 58, "-30gb-month-calls": 66,
                        "-100gb-year": 52, "-20gb-month": 70, "-15gb-month": 72}
SIMULATOR_COST_EXCEPTIONS = {"global-10gb-month": 91, "global-50gb-year": 104}
ASIA = [code for code, region, _tier, _popular in COUNTRIES if region == "asia"]
EUROPE = [code for code, region, _tier, _popular in COUNTRIES if region == "europe"]
SUFFIXES = ["-1gb-day", "-10gb-month", "-30gb-month-calls", "-100gb-year"]
JPY_PER_USD = 150  # the operator's own SM-DP+ buys Japanese data in yen
HKD_HUNDREDTHS_PER_USD = 780
GBP_HUNDREDTHS_PER_USD = 79  # eSIM Go invoices this reseller in pounds


def _demo_plans() -> dict[str, Plan]:
    codes = [f"{c.lower()}{suffix}" for c, *_ in COUNTRIES for suffix in SUFFIXES]
    codes += ["asia-20gb-month", "europe-20gb-month", "americas-15gb-month", "asia-1gb-day",
              "europe-1gb-day", "americas-1gb-day", "global-10gb-month", "global-50gb-year"]
    return {plan.code: plan for plan in
            Plan.objects.filter(code__in=codes).prefetch_related("prices")}


def _esimgo_name(plan: Plan) -> str:
    """eSIM Go's catalogue naming: ``esim_<GB>GB_<days>D_<area>_V2``."""
    area, gb, term = plan.code.split("-")[:3]
    days = {"day": 1, "month": 30}[term]
    return f"esim_{gb.removesuffix('gb')}GB_{days}D_{'EU' if area == 'europe' else area.upper()}_V2"


def load_supplier_bundles() -> int:
    """Demo bundles (keyed by plan and supplier): every demo plan at the simulator, priced in
    USD; the Asia-Pacific country plans also at the operator's own SM-DP+ (``es2plus``, in
    HKD, and in JPY for Japan) at the same priority, so the configured order decides between
    the two; some European plans also at eSIM Go (in GBP) as a second choice."""
    count = 0
    for code, plan in _demo_plans().items():
        usd = plan.price_in("USD")
        if usd is None:
            continue
        share = SIMULATOR_COST_EXCEPTIONS.get(code) or next(
            pct for suffix, pct in SIMULATOR_COST_SHARE.items() if code.endswith(suffix))
        rows = [("simulator", f"SIMU-{code.upper()}", usd.amount * share // 100, "USD", 1)]
        country = code.split("-")[0].upper()
        if country in ASIA:
            if country == "JP":  # yen: no minor units, so the cost is whole yen
                cost, currency = usd.amount * JPY_PER_USD // 100 * 48 // 100, "JPY"
            else:
                cost, currency = usd.amount * HKD_HUNDREDTHS_PER_USD // 100 * 50 // 100, "HKD"
            rows.append(("es2plus", f"APAC-{code.upper()}", cost, currency, 1))
        if (country in EUROPE and code.endswith(("-1gb-day", "-10gb-month"))) or \
                code in ("europe-20gb-month", "europe-1gb-day"):
            rows.append(("esimgo", _esimgo_name(plan),
                         usd.amount * GBP_HUNDREDTHS_PER_USD // 100 * 56 // 100, "GBP", 2))
        for supplier, bundle_code, cost, currency, priority in rows:
            SupplierBundle.objects.update_or_create(
                plan=plan, supplier=supplier,
                defaults={"code": bundle_code, "cost": cost, "cost_currency": currency,
                          "priority": priority, "is_active": True})
            count += 1
    return count


# One unit of the first currency in the second, for the margins page (never for prices).
EXCHANGE_RATES = {
    ("USD", "CNY"): "7.2", ("USD", "EUR"): "0.93", ("USD", "HKD"): "7.8",
    ("HKD", "CNY"): "0.923", ("HKD", "USD"): "0.1282", ("HKD", "EUR"): "0.1192",
    ("JPY", "CNY"): "0.0481", ("JPY", "USD"): "0.00667", ("JPY", "EUR"): "0.0062",
    ("JPY", "HKD"): "0.052",
    ("GBP", "CNY"): "9.12", ("GBP", "USD"): "1.267", ("GBP", "EUR"): "1.178",
    ("GBP", "HKD"): "9.88",
}


def load_exchange_rates() -> int:
    """Demo rates, created once: a rate staff have since set is left as they set it."""
    for (source, target), rate in EXCHANGE_RATES.items():
        ExchangeRate.objects.get_or_create(
            from_currency=source, to_currency=target,
            defaults={"rate": Decimal(rate), "set_at": clock.now(), "set_by": "demo data"})
    return len(EXCHANGE_RATES)
