"""Builders: each test makes the people, catalog rows, eSIMs and orders it needs.

Rows are made through the models and services the product uses (``create_user``,
``esims.create_esim`` with a Luhn-valid ICCID, ``subscribe_esim``, ``place_order``), so what a
test builds is what the product would hold. Nothing here reads the demo catalog: a plan a
test needs is a plan it makes, with the price, validity and allowances the test's assertions
talk about (``plan(usd=1699, unit="month", data_gb=10)``). Codes are generated unless a test
names one.

The demo data (``make run``) is tested on its own, by the tests that load it on purpose.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import factory
from django.db.models import F
from factory.django import DjangoModelFactory

from esimdesk.accounts.models import User
from esimdesk.catalog.demo import RATE_HUNDREDTHS, converted
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
from esimdesk.core.ids import iccid_with_check_digit
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.orders import services as orders
from esimdesk.orders.lines import LineRequest
from esimdesk.orders.models import Order
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.payments.autorenew import renewals_sweep
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    PlanApplication,
    ProfileOrder,
    UpstreamProvider,
)
from esimdesk.sandbox.models import SimulatedProfile
from esimdesk.sharedplans.models import GroupPlanTerms, MemberPriceTier
from esimdesk.subscriptions import services as subscriptions
from esimdesk.subscriptions.models import Allowance, Period, Subscription
from esimdesk.support import conversations
from esimdesk.support.models import Conversation
from esimdesk.usage.models import UsageEvent
from tests.conftest import run_tasks

PASSWORD = "correct-horse-battery-42"
_serial = itertools.count(50_000)  # above the small numbers tests pass as ``n``


# People -------------------------------------------------------------------------------------

class UserFactory(DjangoModelFactory[User]):
    """A traveller (``is_staff=True`` for staff), made with ``create_user`` so the password
    is hashed as at sign-up."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        email = kwargs.pop("email")
        password = kwargs.pop("password")
        return model_class.objects.create_user(email, password, **kwargs)


def user(email: str | None = None, **extra: Any) -> User:
    """A traveller with ``email`` (one is made up when not given)."""
    if email is not None:
        extra["email"] = email
    return UserFactory(**extra)


# Catalog ------------------------------------------------------------------------------------

class RegionFactory(DjangoModelFactory[Region]):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "asia"
    name_en = factory.LazyAttribute(lambda r: r.code.title())
    name_zh_hans = factory.LazyAttribute(lambda r: r.code)


REGION_OF = {"FR": "europe", "DE": "europe", "IT": "europe", "GB": "europe", "ES": "europe",
             "US": "americas", "CA": "americas"}


class CountryFactory(DjangoModelFactory[Country]):
    """A country (ISO code); its region is made too, if missing."""

    class Meta:
        model = Country
        django_get_or_create = ("code",)

    code = "JP"
    region = factory.LazyAttribute(lambda c: RegionFactory(code=REGION_OF.get(c.code, "asia")))


def prices_from_usd(usd: int) -> dict[str, int]:
    """List prices in every currency sold, from the USD one, at the catalog's price points."""
    return {"USD": usd, **{currency: converted(usd, currency) for currency in RATE_HUNDREDTHS}}


class PlanFactory(DjangoModelFactory[Plan]):
    """A personal plan for one country (Japan unless told), priced in every currency from
    ``usd`` (``prices`` names them one by one instead; ``{}`` for none)."""

    class Meta:
        model = Plan
        skip_postgeneration_save = True

    class Params:
        data_gb = 1
        voice_min = 0

    code = factory.Sequence(lambda n: f"plan-{n}")
    coverage = Plan.Coverage.COUNTRY
    kind = Plan.Kind.PERSONAL
    validity_unit = Plan.Unit.DAY
    validity_count = 1
    data_bytes = factory.LazyAttribute(lambda p: p.data_gb * GB)
    voice_seconds = factory.LazyAttribute(lambda p: p.voice_min * 60)
    sms_count = 0
    depletion = Plan.Depletion.THROTTLE
    # Periods start at purchase unless a test is about validity that starts at first use
    # (``validity_starts=Plan.ValidityStarts.FIRST_USE``): most tests are about periods
    # that run.
    validity_starts = Plan.ValidityStarts.PURCHASE
    name_en = factory.LazyAttribute(lambda p: f"Test {p.code}")
    name_zh_hans = factory.LazyAttribute(lambda p: f"测试 {p.code}")
    description_en = "A plan made by a test."
    description_zh_hans = "测试用套餐。"
    network_5g = False
    hotspot = False
    is_active = True

    @factory.post_generation
    def countries(self, create: bool, extracted: Iterable[str] | None, **_: Any) -> None:
        codes = ["JP"] if extracted is None else list(extracted)
        self.countries.set([CountryFactory(code=code) for code in codes])

    @classmethod
    def _create(cls, model_class: type[Plan], *args: Any, usd: int = 299,
                prices: dict[str, int] | None = None, **kwargs: Any) -> Plan:
        made = super()._create(model_class, *args, **kwargs)
        for currency, amount in (prices_from_usd(usd) if prices is None else prices).items():
            Price.objects.create(plan=made, currency=currency, amount=amount)
        return made


def plan(*, unit: str = "day", count: int = 1, countries: Sequence[str] = ("JP",),
         **fields: Any) -> Plan:
    """A personal plan: ``plan(usd=1699, unit="month", data_gb=10)``. Other fields of
    ``Plan`` (``code``, ``sms_count``, ``depletion``, ``kind`` ...) may be given too."""
    return PlanFactory(validity_unit=unit, validity_count=count, countries=list(countries),
                       **fields)


def regional_plan(region: str = "europe", *, countries: Sequence[str] = ("FR", "DE", "IT"),
                  unit: str = "month", **fields: Any) -> Plan:
    """A plan for a whole region (``"global"``: everywhere it lists), covering ``countries``:
    ``regional_plan("asia", countries=("JP", "TH"), usd=2999, data_gb=20)``."""
    coverage = Plan.Coverage.GLOBAL if region == "global" else Plan.Coverage.REGION
    return plan(unit=unit, countries=countries, coverage=coverage,
                region=RegionFactory(code=region), **fields)


def bundle(of: Plan, supplier: str = "simulator", *, code: str | None = None,
           cost: int = 100, currency: str = "USD", priority: int = 1,
           **fields: Any) -> SupplierBundle:
    """The supplier's bundle ``of`` a plan, costing ``cost`` minor units of ``currency``
    per period (the code is made up from the plan's unless given)."""
    return SupplierBundle.objects.create(
        plan=of, supplier=supplier, code=code or f"{supplier.upper()}-{of.code.upper()}",
        cost=cost, cost_currency=currency, priority=priority, **fields)


def exchange_rates(*pairs: tuple[str, str, str]) -> list[ExchangeRate]:
    """Rates as staff set them for the margins page (never used for prices):
    ``exchange_rates(("USD", "CNY", "7.2"), ("JPY", "USD", "0.00667"))``."""
    return [ExchangeRate.objects.create(from_currency=source, to_currency=target,
                                        rate=Decimal(rate), set_at=clock.now(),
                                        set_by="tests")
            for source, target, rate in pairs]


def top_up(*, usd: int, data_gb: int = 0, voice_min: int = 0, sms: int = 0,
           extends_days: int = 0, plans: Iterable[Plan] = (), code: str | None = None,
           **fields: Any) -> TopUpProduct:
    """A top-up product priced in every currency from ``usd``; ``plans`` it may be added to
    (none: any personal plan)."""
    n = next(_serial)
    product = TopUpProduct.objects.create(
        code=code or f"topup-{n}", name_en=fields.pop("name_en", f"Top-up {n}"),
        name_zh_hans=fields.pop("name_zh_hans", f"加油包 {n}"), data_bytes=data_gb * GB,
        voice_seconds=voice_min * 60, sms_count=sms, extends_validity_days=extends_days,
        **fields)
    product.plans.set(list(plans))
    for currency, amount in prices_from_usd(usd).items():
        TopUpPrice.objects.create(product=product, currency=currency, amount=amount)
    return product


def group_plan(*, kind: str = Plan.Kind.FAMILY, usd: int = 1200, data_gb: int = 5,
               voice_min: int = 0, max_members: int = 6, min_members: int | None = None,
               tiers: Sequence[tuple[int, int]] = (), voice_percent_off: int = 0,
               cap_action: str = Plan.Depletion.THROTTLE,
               countries: Sequence[str] = ("FR", "DE"), **fields: Any) -> Plan:
    """A family (or organisation: ``kind=Plan.Kind.ENTERPRISE``) plan for a month, priced
    per member, with its terms and ``tiers`` of (members, % off)."""
    made = plan(unit="month", kind=kind, usd=usd, data_gb=data_gb, voice_min=voice_min,
                countries=countries, **fields)
    terms = GroupPlanTerms.objects.create(
        plan=made, max_members=max_members,
        min_members=min_members if min_members is not None else (
            2 if kind == Plan.Kind.FAMILY else 1),
        intra_group_voice_percent_off=voice_percent_off, cap_action=cap_action)
    for members, percent in tiers:
        MemberPriceTier.objects.create(terms=terms, min_members=members, percent_off=percent)
    return made


def family_plan(**overrides: Any) -> Plan:
    """A family plan for Europe: 5 GB per person for a month, 12.00 USD each, up to 6
    people, cheaper from 3."""
    europe = RegionFactory(code="europe", name_en="Europe", name_zh_hans="欧洲")
    return group_plan(**{
        "tiers": [(3, 10), (4, 15), (5, 20)], "coverage": Plan.Coverage.REGION,
        "region": europe, "countries": ("FR", "DE", "IT"),
        "name_en": "Family Europe 5 GB per person, 1 month",
        "name_zh_hans": "欧洲家庭套餐 每人 5 GB，1 个月", **overrides})


def team_plan(**overrides: Any) -> Plan:
    """An organisation's plan: 10 GB and 100 minutes per employee for a month, 35.00 USD
    each, up to 500, cheaper from 10; calls between colleagues half price; a capped member
    is stopped."""
    return group_plan(**{"kind": Plan.Kind.ENTERPRISE, "usd": 3500, "data_gb": 10,
                         "voice_min": 100, "max_members": 500,
                         "tiers": [(10, 10), (50, 20), (200, 30)], "voice_percent_off": 50,
                         "cap_action": Plan.Depletion.STOP, "coverage": Plan.Coverage.GLOBAL,
                         "region": RegionFactory(code="global", name_en="Global",
                                                 name_zh_hans="全球"),
                         "countries": ("JP", "FR", "US"),
                         "name_en": "Team Global 10 GB per employee, 1 month",
                         "name_zh_hans": "全球企业套餐 每位员工 10 GB，1 个月", **overrides})


# A small shop for the tests that need the usual range (``shop()``): a day, a month, a month
# with calls and a year in Japan, and top-ups. Prices are in USD cents.
DAY = "day-1gb"             # 1 GB for a day, 2.99
MONTH = "month-10gb"        # 10 GB for a month, 16.99
CALLS = "month-30gb-calls"  # 30 GB, 100 minutes and 50 SMS for a month, 29.99
YEAR = "year-100gb"         # 100 GB for a year, 119.00
TOPUP_1GB = "more-1gb"      # +1 GB, 4.99, for any plan
TOPUP_3GB = "more-3gb"      # +3 GB, 11.99, for any plan
TOPUP_5GB = "more-5gb"      # +5 GB, 17.99, for any plan
TOPUP_CALLS = "more-100min-50sms"  # +100 minutes and 50 SMS, 5.99, for plans with calls
TOPUP_7DAYS = "more-2gb-7days"     # +2 GB and 7 more days, 8.99, for plans longer than a day


@dataclass(frozen=True)
class Shop:
    day: Plan
    month: Plan
    calls: Plan
    year: Plan
    top_ups: dict[str, TopUpProduct]


def shop() -> Shop:
    """The plans and top-ups named above (made once per test; ``Shop`` holds the rows)."""
    day = plan(code=DAY, usd=299, data_gb=1, name_en="Japan 1 GB / day",
               name_zh_hans="日本 每日 1 GB")
    month = plan(code=MONTH, unit="month", usd=1699, data_gb=10, name_en="Japan 10 GB / month",
                 name_zh_hans="日本 每月 10 GB")
    calls = plan(code=CALLS, unit="month", usd=2999, data_gb=30, voice_min=100, sms_count=50,
                 name_en="Japan 30 GB + calls / month", name_zh_hans="日本 每月 30 GB + 通话")
    year = plan(code=YEAR, unit="year", usd=11900, data_gb=100, name_en="Japan 100 GB / year",
                name_zh_hans="日本 全年 100 GB")
    top_ups = {
        TOPUP_1GB: top_up(code=TOPUP_1GB, usd=499, data_gb=1, sort=0),
        TOPUP_3GB: top_up(code=TOPUP_3GB, usd=1199, data_gb=3, sort=1),
        TOPUP_5GB: top_up(code=TOPUP_5GB, usd=1799, data_gb=5, sort=2),
        TOPUP_CALLS: top_up(code=TOPUP_CALLS, usd=599, voice_min=100, sms=50, plans=[calls],
                            sort=3),
        TOPUP_7DAYS: top_up(code=TOPUP_7DAYS, usd=899, data_gb=2, extends_days=7,
                            plans=[month, calls, year], sort=4),
    }
    return Shop(day, month, calls, year, top_ups)


FAMILY_PLAN = "family-5gb-month"
TEAM_PLAN = "team-10gb-month"


def make_group_plans() -> tuple[Plan, Plan]:
    """The family plan ``FAMILY_PLAN`` and the organisation's plan ``TEAM_PLAN``."""
    return family_plan(code=FAMILY_PLAN), team_plan(code=TEAM_PLAN)


# eSIMs --------------------------------------------------------------------------------------

def iccid(n: int) -> str:
    """The Luhn-valid ICCID ``make_esim(n=n)`` gives its eSIM."""
    return iccid_with_check_digit(f"89990{n:013d}")


def make_esim(owner: User | None = None, *, n: int | None = None, plan: Plan | None = None,
              data: int | None = None, starts: dt.datetime | None = None,
              subscribe: bool = True) -> Esim:
    """An eSIM as fulfilment records it: a profile the simulator issued (``SimulatedProfile``)
    and the ``Esim`` made of it, with a first period of ``plan`` (a 10 GB month unless
    given) starting now, or at ``starts`` (the clock is then left there). ``data`` sets the
    first period's data bucket, in bytes. ``subscribe=False``: no period yet.

    ``n`` numbers the eSIM (its ICCID is ``iccid(n)``); ``owner`` defaults to a new user."""
    n = next(_serial) if n is None else n
    owner = owner or user(f"u{n}@example.com")
    bought = plan or standard_plan()
    number = iccid(n)
    SimulatedProfile.objects.create(reference=f"ref-{n}", iccid=number, matching_id=f"M-{n}",
                                    plan_code=bought.code)
    esim = esims.create_esim(owner=owner, iccid=number, smdp_address="smdp.example.com",
                             matching_id=f"M-{n}", upstream="simulator")
    if subscribe:
        if starts is not None:
            clock.set_now(starts)
        period = subscriptions.subscribe_esim(esim=esim, plan=bought)
        if data is not None:
            Allowance.objects.filter(period=period, kind="data").update(total=data)
    return esim


def period_of(esim: Esim) -> Period:
    """The eSIM's first period."""
    return Period.objects.get(subscription__esim=esim, sequence=1)


def standard_plan() -> Plan:
    """The plan an eSIM gets when a test does not care: 10 GB for a month, 16.99 USD."""
    found = Plan.objects.filter(code="test-10gb-month").first()
    return found or plan(code="test-10gb-month", unit="month", data_gb=10, usd=1699)


# Orders -------------------------------------------------------------------------------------

def buy(buyer: User, *lines: LineRequest, currency: str = "USD", pay: str = "sandbox",
        run: bool = True) -> Order:
    """An order of ``lines``, paid and (``run``) fulfilled by the queued tasks.

    ``pay="sandbox"``: placed as the portal places it and approved on the sandbox's hosted
    page; ``pay="marked"``: recorded and marked paid directly, with no payment (as staff
    settle an order paid outside esimdesk)."""
    if pay == "marked":
        order = orders.create_order(user=buyer, currency=currency, lines=list(lines))
        orders.mark_paid(order_id=order.pk, provider="sandbox", method="test", actor="test")
    else:
        placed = checkout.place_order(user=buyer, lines=list(lines), currency=currency,
                                      method=pay)
        order = placed.order
        if placed.payment is not None:
            payments.complete_sandbox_payment(user=buyer, payment_id=placed.payment.public_id,
                                              outcome="approve")
    if run:
        run_tasks()
    order.refresh_from_db()
    return order


def new_esim_line(plan: Plan) -> LineRequest:
    return LineRequest(type="new_esim", plan=plan.code)


def bought_esim(buyer: User, plan: Plan, *, currency: str = "USD") -> Esim:
    """An eSIM ``buyer`` bought (one new-eSIM line of ``plan``), paid and fulfilled."""
    order = buy(buyer, new_esim_line(plan), currency=currency)
    line = order.lines.get()
    assert line.esim is not None, "the order was not fulfilled"
    return line.esim


def used_data(esim: Esim, *uses: tuple[dt.datetime, int]) -> None:
    """Data the eSIM used, as ingestion leaves it: a usage event per ``(when, bytes)``
    charged to the period running then, and that period's data bucket used that much."""
    for when, quantity in uses:
        period = (Period.objects.filter(subscription__esim=esim, starts_at__lte=when,
                                        ends_at__gt=when).order_by("sequence").first())
        assert period is not None, f"no period of {esim.iccid} runs at {when}"
        UsageEvent.objects.create(source="test", external_id=f"use-{next(_serial)}",
                                  esim=esim, period=period, kind="data", quantity=quantity,
                                  occurred_at=when, charged=quantity)
        bucket = Allowance.objects.filter(period=period, kind="data").order_by("id").first()
        assert bucket is not None
        Allowance.objects.filter(pk=bucket.pk).update(used=F("used") + quantity)


def renewal_queued(esim: Esim, plan: Plan) -> Period:
    """A renewal of ``plan`` queued behind the eSIM's latest period (as a paid renewal
    order leaves it)."""
    return subscriptions.add_period(subscription=esim.subscription, plan=plan)


def in_use(esim: Esim) -> Esim:
    """The eSIM installed and connected, as the supplier's callback records it."""
    return esims.transition(esim=esim, to=Esim.Status.IN_USE, actor_type="provider",
                            actor="simulator")


def auto_renewing(buyer: User, plan: Plan, *, card: str = "4242") -> Subscription:
    """A new eSIM of ``plan`` paid on the sandbox page with ``card``, kept for off-session
    charges, with auto-renew on (``0341`` pays now and is declined off-session)."""
    payment = checkout.place_order(user=buyer, currency="USD", method="sandbox",
                                   save_method=True, lines=[new_esim_line(plan)]).payment
    assert payment is not None
    payments.complete_sandbox_payment(user=buyer, payment_id=payment.public_id,
                                      outcome="approve", card=card, save_card=True)
    run_tasks()
    subscription = Subscription.objects.get(esim__owner=buyer)
    subscription.auto_renew = True
    subscription.save(update_fields=["auto_renew"])
    return subscription


def renewal_due(subscription: Subscription) -> None:
    """Move the clock to an hour before the running period ends and run the renewal sweep
    and the charge it queues."""
    ends = Period.objects.filter(subscription=subscription).order_by("-sequence")[0].ends_at
    assert ends is not None
    clock.set_now(ends - dt.timedelta(hours=1))
    renewals_sweep()
    run_tasks()


# Support ------------------------------------------------------------------------------------

def agent(email: str = "agent@example.com") -> User:
    """A staff member who may answer conversations (a superuser holds every permission)."""
    return User.objects.create_superuser(email, PASSWORD)


def answered_chat(customer: User, by: User, *, after: dt.timedelta) -> Conversation:
    """The customer writes now; ``by`` answers ``after`` later (the clock is left there)."""
    conversations.post_customer_message(customer=customer, body="My eSIM does not connect.")
    clock.advance(after)
    conversation = Conversation.objects.get(customer=customer)
    conversations.post_agent_reply(agent=by, conversation_id=conversation.pk,
                                   body="Please switch data roaming on.")
    conversation.refresh_from_db()
    return conversation


# Suppliers ----------------------------------------------------------------------------------

class RefusingSupplier(UpstreamProvider):
    """A supplier that refuses every profile for good (out of stock): register it with
    ``provisioning.registry.register(name, "tests.builders.RefusingSupplier")`` and list
    it in ``UPSTREAM_PROVIDERS``; its bundles make activations fail over, or fail."""

    name = "refusing"
    label = "Refusing Ltd"

    def order_profile(self, *, reference: str, plan_code: str) -> ProfileOrder:
        raise FinalUpstreamError("no profiles left", code="out_of_stock")

    def apply_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        raise FinalUpstreamError("no plans left", code="out_of_stock")
