"""Validation of supplier bundles and exchange rates, shared by the staff console (model
``clean``, shown next to the field) and the services (``DomainError`` with a code)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from esimdesk.core.errors import DomainError, ValidationFailed
from esimdesk.core.money import check_currency
from esimdesk.provisioning.registry import PROVIDERS


def known_suppliers() -> list[str]:
    """Every supplier esimdesk has an adapter for (a bundle may be kept for a supplier that
    is not configured right now: it is simply not used until it is)."""
    return list(PROVIDERS)


def configured_suppliers() -> list[str]:
    """``ESIMDESK_UPSTREAM_PROVIDERS``, in its failover order."""
    return list(settings.ESIMDESK["UPSTREAM_PROVIDERS"])


def check_supplier(name: str) -> str:
    if name not in PROVIDERS:
        raise ValidationFailed(
            _("%(name)s is not a supplier esimdesk knows. Known suppliers: %(known)s.")
            % {"name": name, "known": ", ".join(PROVIDERS)},
            code="unknown_supplier", detail={"supplier": name, "known": list(PROVIDERS)})
    return name


def check_cost(amount: int) -> int:
    if amount < 0:
        raise ValidationFailed(code="negative_cost", detail={"cost": amount})
    return amount


def check_bundle_code(code: str) -> str:
    code = (code or "").strip()
    if not code:
        raise ValidationFailed(code="bundle_code_required")
    return code


def check_rate_value(rate: Decimal) -> Decimal:
    if not rate.is_finite() or rate <= 0:
        raise ValidationFailed(code="invalid_exchange_rate", detail={"rate": str(rate)})
    return rate


def check_rate(*, from_currency: str, to_currency: str, rate: Decimal) -> tuple[str, str]:
    """Both currencies supported and different, the rate positive; the ISO codes back."""
    source, target = check_currency(from_currency), check_currency(to_currency)
    if source == target:
        raise ValidationFailed(code="same_currency", detail={"currency": source})
    check_rate_value(rate)
    return source, target


def _collect(errors: dict[str, list[str]], field: str, check: Any, *args: Any,
             **kwargs: Any) -> None:
    try:
        check(*args, **kwargs)
    except DomainError as error:
        errors.setdefault(field, []).append(str(error.message))


def _currency(errors: dict[str, list[str]], obj: Any, field: str) -> None:
    """Check a currency field and store its ISO form (``usd`` is saved as ``USD``)."""
    try:
        setattr(obj, field, check_currency(getattr(obj, field) or ""))
    except DomainError as error:
        errors.setdefault(field, []).append(str(error.message))


def clean_bundle(bundle: Any) -> None:
    """``SupplierBundle.clean``: every problem at once, each next to its field."""
    errors: dict[str, list[str]] = {}
    _collect(errors, "supplier", check_supplier, bundle.supplier or "")
    _collect(errors, "code", check_bundle_code, bundle.code)
    if bundle.cost is not None:
        _collect(errors, "cost", check_cost, bundle.cost)
    _currency(errors, bundle, "cost_currency")
    if "code" not in errors:
        bundle.code = bundle.code.strip()
    if errors:
        raise ValidationError(errors)


def clean_rate(rate: Any) -> None:
    """``ExchangeRate.clean``."""
    errors: dict[str, list[str]] = {}
    _currency(errors, rate, "from_currency")
    _currency(errors, rate, "to_currency")
    if not errors and rate.from_currency == rate.to_currency:
        errors["to_currency"] = [str(ValidationFailed(code="same_currency").message)]
    if rate.rate is not None:
        _collect(errors, "rate", check_rate_value, rate.rate)
    if errors:
        raise ValidationError(errors)
