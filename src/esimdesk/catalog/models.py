from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from esimdesk.catalog import checks
from esimdesk.catalog.validity import period_end
from esimdesk.core.i18n import country_name, localized
from esimdesk.core.money import Money

GB = 1024**3
MB = 1024**2


class Region(models.Model):
    code = models.SlugField(max_length=20, unique=True, verbose_name=_("code"))
    name_en = models.CharField(max_length=100, verbose_name=_("name (English)"))
    name_zh_hans = models.CharField(max_length=100, verbose_name=_("name (Chinese)"))
    sort = models.PositiveSmallIntegerField(default=0, verbose_name=_("sort order"))

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized(self, "name")


class Country(models.Model):
    code = models.CharField(max_length=2, primary_key=True, help_text=_("ISO 3166-1 alpha-2"),
                            verbose_name=_("code"))
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="countries",
                               verbose_name=_("region"))
    popular = models.BooleanField(default=False, verbose_name=_("popular"))

    class Meta:
        verbose_name = _("country")
        verbose_name_plural = _("countries")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {country_name(self.code)}"

    @property
    def name(self) -> str:
        return country_name(self.code)


class SoldItem:
    """What plans and top-up products share: a name and a description in both languages
    (``<field>_en`` / ``<field>_zh_hans``) and a price per currency (``prices``)."""

    prices: Any

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def description(self) -> str:
        return localized(self, "description")

    def price_in(self, currency: str) -> Money | None:
        for price in self.prices.all():
            if price.currency == currency:
                return price.money
        return None


class Plan(SoldItem, models.Model):
    class Coverage(models.TextChoices):
        COUNTRY = "country", _("Country")
        REGION = "region", _("Region")
        GLOBAL = "global", _("Global")

    class Kind(models.TextChoices):
        PERSONAL = "personal", _("Personal")
        FAMILY = "family", _("Family")
        ENTERPRISE = "enterprise", _("Enterprise")

    class Unit(models.TextChoices):
        DAY = "day", _("day")
        MONTH = "month", _("month")
        YEAR = "year", _("year")

    class Depletion(models.TextChoices):
        THROTTLE = "throttle", _("Slowed down when the data is used up")
        STOP = "stop", _("Stops when the data is used up")

    class ValidityStarts(models.TextChoices):
        """When a new eSIM's first period of the plan starts counting."""
        FIRST_USE = "first_use", _("When the eSIM first connects in the destination")
        INSTALL = "install", _("When the eSIM is installed")
        PURCHASE = "purchase", _("At purchase")

    code = models.SlugField(max_length=60, unique=True, verbose_name=_("code"))
    coverage = models.CharField(max_length=10, choices=Coverage.choices, verbose_name=_("coverage"))
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT,
                               verbose_name=_("region"))
    countries = models.ManyToManyField(Country, related_name="plans",
                                       help_text=_("every country the plan works in"),
                                       verbose_name=_("countries"))
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.PERSONAL,
                            verbose_name=_("kind"))
    validity_unit = models.CharField(max_length=5, choices=Unit.choices,
                                     verbose_name=_("validity unit"))
    validity_count = models.PositiveSmallIntegerField(default=1, verbose_name=_("validity length"))
    data_bytes = models.BigIntegerField(help_text=_("data allowance per period, bytes"),
                                        verbose_name=_("data (bytes)"))
    voice_seconds = models.BigIntegerField(default=0, verbose_name=_("voice (seconds)"))
    sms_count = models.BigIntegerField(default=0, verbose_name=_("SMS"))
    depletion = models.CharField(max_length=10, choices=Depletion.choices,
                                 default=Depletion.THROTTLE, verbose_name=_("when used up"))
    validity_starts = models.CharField(
        max_length=10, choices=ValidityStarts.choices, default=ValidityStarts.FIRST_USE,
        help_text=_("when a new eSIM's period starts; until then it is pending (renewals start "
                    "where the running period ends, whatever this says)"),
        verbose_name=_("validity starts"))
    activate_within_days = models.PositiveSmallIntegerField(
        default=180, help_text=_("a pending period starts by itself this many days after "
                                 "purchase"), verbose_name=_("activate within (days)"))
    name_en = models.CharField(max_length=120, verbose_name=_("name (English)"))
    name_zh_hans = models.CharField(max_length=120, verbose_name=_("name (Chinese)"))
    description_en = models.TextField(blank=True, verbose_name=_("description (English)"))
    description_zh_hans = models.TextField(blank=True, verbose_name=_("description (Chinese)"))
    network_5g = models.BooleanField(
        _("5G"), default=False, help_text=_("the plan's data runs on 5G where the network has it"))
    hotspot = models.BooleanField(
        _("hotspot"), default=False,
        help_text=_("the data may be shared with other devices (tethering / personal hotspot)"))
    is_active = models.BooleanField(default=True, verbose_name=_("on sale"))
    sort = models.PositiveSmallIntegerField(default=0, verbose_name=_("sort order"))

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["sort", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(data_bytes__gte=0) & Q(voice_seconds__gte=0)
                                   & Q(sms_count__gte=0), name="plan_allowances_not_negative"),
        ]

    def __str__(self) -> str:
        return self.code


    def ends_at(self, starts_at: dt.datetime) -> dt.datetime:
        return period_end(starts_at, self.validity_unit, self.validity_count)

    def destination_from(self, codes: Sequence[str], region: Region | None) -> str:
        """Where the plan works, as a traveller names a trip ("Japan", "Europe",
        "Worldwide"), from its country codes and region as the caller already has them."""
        if self.coverage == self.Coverage.GLOBAL:
            return str(_("Worldwide"))
        if self.coverage == self.Coverage.COUNTRY and len(codes) == 1:
            return country_name(codes[0])
        return region.name if region is not None else self.name

    def destination_name(self) -> str:
        """``destination_from`` for one plan (one or two queries; lists of plans read the
        codes and regions in bulk: portal.esim_cards)."""
        codes = list(self.countries.values_list("code", flat=True)[:2])
        return self.destination_from(codes, self.region if self.region_id else None)

    @property
    def validity_iso(self) -> str:
        """The validity as an ISO 8601 duration (``P30D``, ``P1M``, ``P1Y``)."""
        letter = {self.Unit.DAY: "D", self.Unit.MONTH: "M", self.Unit.YEAR: "Y"}
        return f"P{self.validity_count}{letter[self.validity_unit]}"

    @property
    def validity_label(self) -> str:
        count = self.validity_count
        if self.validity_unit == self.Unit.DAY:
            return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}
        if self.validity_unit == self.Unit.MONTH:
            return ngettext("%(count)d month", "%(count)d months", count) % {"count": count}
        return ngettext("%(count)d year", "%(count)d years", count) % {"count": count}

    def price_per_gb(self, price: Money | None) -> Money | None:
        """``price`` for each GB of the plan's data allowance (rounded to the nearest minor
        unit); None when the plan grants no data or there is no price."""
        if price is None or self.data_bytes <= 0:
            return None
        return Money((price.amount * GB * 2 + self.data_bytes) // (self.data_bytes * 2),
                     price.currency)

    def allowances(self) -> list[tuple[str, int]]:
        """(kind, total) for each allowance the plan grants, in display order."""
        items = [("data", self.data_bytes)]
        if self.voice_seconds:
            items.append(("voice", self.voice_seconds))
        if self.sms_count:
            items.append(("sms", self.sms_count))
        return items



class Price(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices",
                             verbose_name=_("plan"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    amount = models.BigIntegerField(help_text=_("minor units"), verbose_name=_("amount"))

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [
            models.UniqueConstraint(fields=["plan", "currency"], name="uniq_plan_currency"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code} {self.money}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


class TopUpProduct(SoldItem, models.Model):
    """Extra data, minutes or SMS added to the period running when it is applied.

    A top-up is a separate allowance bucket of that period: it expires with the period
    unless ``extends_validity_days`` moves the period's end (docs/topups.md).
    """

    code = models.SlugField(max_length=60, unique=True, verbose_name=_("code"))
    name_en = models.CharField(max_length=120, verbose_name=_("name (English)"))
    name_zh_hans = models.CharField(max_length=120, verbose_name=_("name (Chinese)"))
    description_en = models.TextField(blank=True, verbose_name=_("description (English)"))
    description_zh_hans = models.TextField(blank=True, verbose_name=_("description (Chinese)"))
    data_bytes = models.BigIntegerField(default=0, help_text=_("bytes added"),
                                        verbose_name=_("data bytes"))
    voice_seconds = models.BigIntegerField(default=0, help_text=_("seconds of calls added"),
                                           verbose_name=_("voice seconds"))
    sms_count = models.BigIntegerField(default=0, help_text=_("SMS added"),
                                       verbose_name=_("sms count"))
    extends_validity_days = models.PositiveSmallIntegerField(
        default=0, help_text=_("days added to the end of the period it tops up (0: none)"),
        verbose_name=_("extends validity days"))
    plans = models.ManyToManyField(Plan, blank=True, related_name="top_up_products",
                                   help_text=_("plans it can top up; empty = any personal plan"),
                                   verbose_name=_("plans"))
    is_active = models.BooleanField(default=True, verbose_name=_("active"))
    sort = models.PositiveSmallIntegerField(default=0, verbose_name=_("sort"))

    class Meta:
        verbose_name = _("top-up")
        verbose_name_plural = _("top-ups")
        ordering = ["sort", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(data_bytes__gte=0) & Q(voice_seconds__gte=0)
                                   & Q(sms_count__gte=0), name="top_up_quantities_not_negative"),
            models.CheckConstraint(condition=Q(data_bytes__gt=0) | Q(voice_seconds__gt=0)
                                   | Q(sms_count__gt=0) | Q(extends_validity_days__gt=0),
                                   name="top_up_adds_something"),
        ]

    def __str__(self) -> str:
        return self.code


    def allowances(self) -> list[tuple[str, int]]:
        """(kind, quantity) of each bucket the top-up adds, in display order."""
        items = [("data", self.data_bytes), ("voice", self.voice_seconds),
                 ("sms", self.sms_count)]
        return [(kind, total) for kind, total in items if total]

    def applies_to(self, plan: Plan) -> bool:
        """Whether it can top up a period of ``plan`` (needs ``plans`` prefetched or costs a
        query)."""
        if not self.is_active or plan.kind != Plan.Kind.PERSONAL:
            return False
        chosen = [p.pk for p in self.plans.all()]
        return not chosen or plan.pk in chosen



class TopUpPrice(models.Model):
    product = models.ForeignKey(TopUpProduct, on_delete=models.CASCADE, related_name="prices",
                                verbose_name=_("product"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    amount = models.BigIntegerField(help_text=_("minor units"), verbose_name=_("amount"))

    class Meta:
        verbose_name = _("top-up price")
        verbose_name_plural = _("top-up prices")
        constraints = [
            models.UniqueConstraint(fields=["product", "currency"],
                                    name="uniq_top_up_currency"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="top_up_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product.code} {self.money}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


class SupplierBundle(models.Model):
    """What one upstream supplier calls a plan and what it charges for one period of it.

    A plan with bundles on the configured suppliers is ordered only from those, active ones
    first by ``priority`` (lower first; equal priorities keep the order of
    ``ESIMDESK_UPSTREAM_PROVIDERS``), each under its own ``code``. A plan with none is
    ordered as before: every configured supplier, under the plan's own code
    (``catalog.bundles.suppliers_for``). ``cost`` feeds the staff margins page only.
    """

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="bundles",
                             verbose_name=_("plan"))
    supplier = models.CharField(
        max_length=30, help_text=_("an upstream supplier name, e.g. simulator, es2plus, esimgo"),
        verbose_name=_("supplier"))
    # 60: the longest plan code the suppliers' own records keep (provisioning models).
    code = models.CharField(max_length=60, help_text=_("the supplier's bundle / product code"),
                            verbose_name=_("code"))
    cost = models.BigIntegerField(help_text=_("what the supplier charges per period, minor "
                                              "units of cost_currency (JPY and KRW have none)"),
                                  verbose_name=_("cost"))
    cost_currency = models.CharField(max_length=3, verbose_name=_("cost currency"))
    priority = models.PositiveSmallIntegerField(
        default=1, help_text=_("lower is tried first; equal: the configured supplier order"),
        verbose_name=_("priority"))
    is_active = models.BooleanField(default=True, help_text=_(
        "off: no new eSIMs of this plan from this supplier (renewals of its eSIMs still go "
        "to it)"), verbose_name=_("active"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("supplier bundle")
        verbose_name_plural = _("supplier bundles")
        ordering = ["plan", "priority", "supplier"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "supplier"], name="uniq_plan_supplier"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="bundle_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code} @ {self.supplier}: {self.code}"

    @property
    def cost_money(self) -> Money:
        return Money(self.cost, self.cost_currency)

    def clean(self) -> None:
        checks.clean_bundle(self)


class ExchangeRate(models.Model):
    """One unit of ``from_currency`` is worth ``rate`` units of ``to_currency`` (major
    units). Staff set these for the margins page only: no price or charge ever uses them."""

    from_currency = models.CharField(max_length=3, verbose_name=_("from currency"))
    to_currency = models.CharField(max_length=3, verbose_name=_("to currency"))
    rate = models.DecimalField(max_digits=20, decimal_places=10, verbose_name=_("rate"))
    set_at = models.DateTimeField(help_text=_("when staff last set the rate"),
                                  verbose_name=_("set at"))
    set_by = models.CharField(max_length=200, blank=True, verbose_name=_("set by"))

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["from_currency", "to_currency"]
        constraints = [
            models.UniqueConstraint(fields=["from_currency", "to_currency"],
                                    name="uniq_exchange_rate_pair"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
            models.CheckConstraint(condition=~Q(from_currency=models.F("to_currency")),
                                   name="exchange_rate_two_currencies"),
        ]

    def __str__(self) -> str:
        return f"1 {self.from_currency} = {self.rate} {self.to_currency}"

    def clean(self) -> None:
        checks.clean_rate(self)
