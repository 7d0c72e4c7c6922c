"""Reading and writing PayPal's JSON resources (orders, captures, refunds, errors)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from esimdesk.core.money import Money, exponent
from esimdesk.payments.providers.base import (
    EventType,
    FinalProviderError,
    ProviderEvent,
    SavedMethod,
    SignatureError,
)

_DECIMAL = re.compile(r"\d+(\.\d+)?")


def _event(reference: str, kind: EventType, amount: Money | None, raw: Mapping[str, Any],
           **fields: Any) -> ProviderEvent:
    """A fact learnt by asking PayPal (query, capture, charge), keyed as the contract says.
    The stored copy leaves out the payer's name, email and address (``method`` has enough)."""
    kept = {key: value for key, value in raw.items() if key not in ("payer", "payment_source")}
    return ProviderEvent(event_id=f"query:{reference}:{kind}", provider_reference=reference,
                         type=kind, amount=amount, raw=kept, **fields)


def _amount(money: Money) -> dict[str, str]:
    return {"currency_code": money.currency, "value": money.decimal_string()}


def _money(amount: Any) -> Money:
    """PayPal's ``{currency_code, value}`` as exact minor units (``"1500"`` JPY, ``"12.30"``)."""
    amount = amount if isinstance(amount, dict) else {}
    currency, value = str(amount.get("currency_code", "")).upper(), str(amount.get("value", ""))
    if len(currency) != 3 or not currency.isalpha() or not _DECIMAL.fullmatch(value):
        raise FinalProviderError(f"PayPal amount {amount!r} is malformed", code="bad_amount")
    minor = Decimal(value).scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise FinalProviderError(f"PayPal amount {value} {currency} has too many decimals",
                                 code="bad_amount")
    return Money(int(minor), currency)


def _unit(order: Mapping[str, Any]) -> dict[str, Any]:
    return dict((order.get("purchase_units") or [{}])[0])


def _unit_amount(order: Mapping[str, Any]) -> Money | None:
    return _money(_unit(order)["amount"]) if _unit(order).get("amount") else None


def _first_capture(order: Mapping[str, Any]) -> dict[str, Any]:
    return dict(((_unit(order).get("payments") or {}).get("captures") or [{}])[0])


def _paypal_source(order: Mapping[str, Any]) -> dict[str, Any]:
    return dict((order.get("payment_source") or {}).get("paypal") or {})


def _method(order: Mapping[str, Any]) -> str:
    email = (_paypal_source(order).get("email_address")
             or (order.get("payer") or {}).get("email_address") or "")
    return f"PayPal {mask_email(str(email))}" if email else "PayPal"


def mask_email(email: str) -> str:
    """``alex@example.com`` -> ``a•••@example.com``: recognisable, not harvestable."""
    local, at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if at and local else email


def _saved_method(order: Mapping[str, Any], label: str) -> SavedMethod | None:
    vault = (_paypal_source(order).get("attributes") or {}).get("vault") or {}
    if vault.get("status") != "VAULTED" or not vault.get("id"):
        return None
    return SavedMethod(token=str(vault["id"]), label=label,
                       customer_token=str((vault.get("customer") or {}).get("id", "")))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _reason(resource: Mapping[str, Any], default: str) -> str:
    return str((resource.get("status_details") or {}).get("reason") or default).lower()


def _order_id(capture: Mapping[str, Any]) -> str:
    """A capture's order: ``supplementary_data``, else its ``up`` link."""
    order_id = _related_order_id(capture) or _link_id(capture, "up", "/checkout/orders/")
    if not order_id:
        raise FinalProviderError("PayPal capture names no order", code="no_order_id")
    return order_id


def _related_order_id(resource: Mapping[str, Any]) -> str:
    related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
    return str(related.get("order_id") or "")


def _link(resource: Mapping[str, Any], rel: str) -> str:
    return next((str(link.get("href", "")) for link in resource.get("links") or []
                 if link.get("rel") == rel), "")


def _link_id(resource: Mapping[str, Any], rel: str, marker: str) -> str:
    """The id after ``marker`` in the path of the ``rel`` link (``.../captures/<id>``)."""
    path = urlsplit(_link(resource, rel)).path
    return path.split(marker, 1)[1].split("/")[0] if marker in path else ""


def _issue(data: Mapping[str, Any]) -> str:
    return str(_detail(data).get("issue", ""))


def _describe(data: Mapping[str, Any]) -> str:
    return str(_detail(data).get("description") or data.get("message") or "")


def _detail(data: Mapping[str, Any]) -> dict[str, Any]:
    details = data.get("details")
    first = details[0] if isinstance(details, list) and details else {}
    return first if isinstance(first, dict) else {}


def _parse_time(value: str) -> dt.datetime:
    try:
        sent = dt.datetime.fromisoformat(value)
    except ValueError:
        raise SignatureError("malformed transmission time", code="bad_signature") from None
    return sent if sent.tzinfo else sent.replace(tzinfo=dt.UTC)


def _json(raw: bytes) -> dict[str, Any]:
    """The JSON object PayPal answered, or ``{}`` (an empty 204, a proxy's HTML page)."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
