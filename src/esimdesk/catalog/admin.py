"""The catalog in the staff console: plans with their prices and supplier bundles inline,
top-up products, regions, countries and the exchange rates of the margins page.

Inline rows (prices, bundles) are audited one by one, like the
admin's own saves, so a changed cost or bundle code shows in the audit trail.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from esimdesk.catalog import services as catalog_services
from esimdesk.catalog.checks import known_suppliers
from esimdesk.catalog.models import (
    Country,
    ExchangeRate,
    Plan,
    Price,
    Region,
    SupplierBundle,
    TopUpPrice,
    TopUpProduct,
)
from esimdesk.core import audit
from esimdesk.core.admin_base import AuditedAdmin, money_column
from esimdesk.core.money import SUPPORTED_CURRENCIES


class AuditedInlinesAdmin(AuditedAdmin):
    """Also audits each inline row added, changed or deleted with the parent."""

    def save_formset(self, request: HttpRequest, form: Any, formset: Any,
                     change: bool) -> None:
        with transaction.atomic():
            for deleted in formset.deleted_forms:
                if deleted.instance.pk is not None:
                    audit.record_by_user(user=request.user, obj=deleted.instance,
                                         action="admin.delete",
                                         before={"repr": str(deleted.instance)})
            edited = [f for f in formset.forms
                      if f.has_changed() and f not in formset.deleted_forms]
            added = {id(f) for f in edited if f.instance.pk is None}
            super().save_formset(request, form, formset, change)
            for row in edited:
                is_new = id(row) in added
                after = {name: str(row.cleaned_data.get(name)) for name in row.changed_data}
                before = None if is_new else {name: str(row.initial.get(name))
                                              for name in row.changed_data}
                audit.record_by_user(user=request.user, obj=row.instance,
                                     action=f"admin.{'add' if is_new else 'change'}",
                                     before=before, after=after)


class PriceInline(admin.TabularInline):
    model = Price
    extra = 0


class SupplierBundleForm(forms.ModelForm):
    supplier = forms.ChoiceField(label=_("Supplier"), choices=())
    cost_currency = forms.ChoiceField(label=_("Cost currency"),
                                      choices=[(c, c) for c in SUPPORTED_CURRENCIES])

    class Meta:
        model = SupplierBundle
        fields = ["supplier", "code", "cost", "cost_currency", "priority", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read when the form is made, not at import: adapters may be added at start-up.
        self.fields["supplier"].choices = [(name, name) for name in known_suppliers()]


class SupplierBundleInline(admin.TabularInline):
    model = SupplierBundle
    form = SupplierBundleForm
    extra = 0
    verbose_name = _("supplier bundle")
    verbose_name_plural = _("supplier bundles (tried in priority order; equal priorities "
                            "in the configured supplier order)")


@admin.register(Plan)
class PlanAdmin(AuditedInlinesAdmin):
    list_display = ["code", "shown_name", "coverage", "validity_unit", "validity_count",
                    "validity_starts", "data_bytes", "is_active", "margins_link"]
    list_filter = ["coverage", "validity_unit", "validity_starts", "kind", "is_active",
                   "network_5g", "hotspot", "bundles__supplier"]
    search_fields = ["code", "name_en", "name_zh_hans", "bundles__code"]
    filter_horizontal = ["countries"]
    inlines = [PriceInline, SupplierBundleInline]

    @admin.display(description=_("name"), ordering="name_en")
    def shown_name(self, plan: Plan) -> str:
        """The plan's name in the reader's language (both are edited on the plan's page)."""
        return plan.name

    @admin.display(description=_("Margins"))
    def margins_link(self, plan: Plan) -> str:
        return format_html('<a href="{}?q={}">{}</a>', reverse("staff_margins"), plan.code,
                           _("Margins"))


@admin.register(SupplierBundle)
class SupplierBundleAdmin(AuditedAdmin):
    form = SupplierBundleForm
    list_display = ["plan", "supplier", "code", "cost_money", "priority", "is_active",
                    "updated_at"]
    cost_money = money_column("cost", "cost_currency", _("cost"))
    list_filter = ["supplier", "is_active", "cost_currency"]
    search_fields = ["plan__code", "code"]
    list_select_related = ["plan"]
    raw_id_fields = ["plan"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["plan", *SupplierBundleForm.Meta.fields]


class ExchangeRateForm(forms.ModelForm):
    from_currency = forms.ChoiceField(label=_("From"),
                                      choices=[(c, c) for c in SUPPORTED_CURRENCIES])
    to_currency = forms.ChoiceField(label=_("To"), choices=[(c, c) for c in SUPPORTED_CURRENCIES])

    class Meta:
        model = ExchangeRate
        fields = ["from_currency", "to_currency", "rate"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Rates for the margins page only; set through the catalog service (stamped, audited)."""

    form = ExchangeRateForm
    list_display = ["from_currency", "to_currency", "rate", "set_at", "set_by"]
    list_filter = ["from_currency", "to_currency"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Another pair is another rate: add it, rather than turn this one into it.
        return ["from_currency", "to_currency", "set_at", "set_by"] if obj is not None \
            else ["set_at", "set_by"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = catalog_services.set_exchange_rate(
            from_currency=obj.from_currency, to_currency=obj.to_currency,
            rate=form.cleaned_data["rate"], user=request.user)
        obj.pk, obj.set_at, obj.set_by = saved.pk, saved.set_at, saved.set_by

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit.record_by_user(user=request.user, obj=obj, action="admin.delete",
                                 before={"repr": str(obj)})
            super().delete_model(request, obj)


class TopUpPriceInline(admin.TabularInline):
    model = TopUpPrice
    extra = 0


@admin.register(TopUpProduct)
class TopUpProductAdmin(AuditedInlinesAdmin):
    list_display = ["code", "shown_name", "data_bytes", "voice_seconds", "sms_count",
                    "extends_validity_days", "is_active", "sort"]

    @admin.display(description=_("name"), ordering="name_en")
    def shown_name(self, product: TopUpProduct) -> str:
        return product.name
    list_filter = ["is_active"]
    search_fields = ["code", "name_en", "name_zh_hans"]
    filter_horizontal = ["plans"]
    inlines = [TopUpPriceInline]


@admin.register(TopUpPrice)
class TopUpPriceAdmin(AuditedAdmin):
    list_display = ["product", "currency", "amount_money"]
    search_fields = ["product__code"]
    amount_money = money_column("amount", "currency", _("amount"))
admin.site.register(Region, AuditedAdmin)
admin.site.register(Country, AuditedAdmin, search_fields=["code"],
                    list_display=["code", "region", "popular"])


@admin.register(Price)
class PriceAdmin(AuditedAdmin):
    list_display = ["plan", "currency", "amount_money"]
    amount_money = money_column("amount", "currency", _("amount"))
    list_filter = ["currency"]
    search_fields = ["plan__code"]
