"""Audit rows as sentences for people: "Order paid", "Status changed from Paid to Fulfilled".

An audit row keeps ``before`` and ``after`` as JSON (usually objects of field → value). Each
field that changed becomes one sentence in the active language, with the field's name and
its values as the console shows them: a choice by its label (the model is found by the
row's ``object_type`` in the app registry), a time as a date and time, yes / no, lists
joined. Values that did not change are left out; a row with nothing before says what was
set, one with nothing after what was cleared.

Each action code the project records (``audit.record(action="order.paid", ...)``) has its
name for people in ``core.audit_labels.ACTIONS``; ``tests/core/test_audit_labels.py`` scans
the source and fails on a code recorded without one. Actors are shown the same way: a system
actor ("fulfilment", "scheduler") by its name in ``core.audit_labels.ACTORS``, a person by
their e-mail address. A reason esimdesk wrote ("activation deadline reached") is read in
the active language through ``core.audit_labels.REASONS``; one a person typed, as typed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from esimdesk.core.audit_labels import ACTIONS, ACTOR_TYPES, ACTORS, REASON_PATTERNS, REASONS
from esimdesk.core.models import AuditEntry
from esimdesk.core.money import Money

#: Names of the fields audit rows use most, translated (model verbose names are not).
FIELD_LABELS = {
    "status": gettext_lazy("Status"), "state": gettext_lazy("State"),
    "plan": gettext_lazy("Plan"), "starts_at": gettext_lazy("Starts"),
    "ends_at": gettext_lazy("Ends"), "activate_by": gettext_lazy("Activate by"),
    "language": gettext_lazy("Language"), "is_active": gettext_lazy("Active"),
    "is_staff": gettext_lazy("Staff"), "role": gettext_lazy("Role"),
    "roles": gettext_lazy("Roles"), "supplier": gettext_lazy("Supplier"),
    "upstream": gettext_lazy("Supplier"), "amount": gettext_lazy("Amount"),
    "currency": gettext_lazy("Currency"), "total": gettext_lazy("Total"),
    "provider": gettext_lazy("Payment provider"), "method": gettext_lazy("Payment method"),
    "iccid": gettext_lazy("ICCID"), "esim": gettext_lazy("eSIM"),
    "order": gettext_lazy("Order"), "number": gettext_lazy("Number"),
    "email": gettext_lazy("E-mail"), "phone": gettext_lazy("Phone"),
    "days": gettext_lazy("Days"), "sequence": gettext_lazy("Period number"),
    "subscription": gettext_lazy("Subscription"), "lines": gettext_lazy("Lines"),
    "auto_renew": gettext_lazy("Automatic renewal"), "reason": gettext_lazy("Reason"),
    "assigned_to": gettext_lazy("Agent"), "repr": gettext_lazy("Record"),
    # Names audit rows use beyond the fields of the record they are about.
    "ok": gettext_lazy("Succeeded"), "detail": gettext_lazy("Detail"),
    "action": gettext_lazy("Action"), "agent": gettext_lazy("Agent"),
    "allowed_countries": gettext_lazy("Allowed countries"), "assigned": gettext_lazy("Assigned"),
    "billing": gettext_lazy("Billing"), "buckets": gettext_lazy("Data allowances"),
    "bundle": gettext_lazy("Supplier bundle"), "bytes": gettext_lazy("Bytes"),
    "cap": gettext_lazy("Data limit"), "carried": gettext_lazy("Carried over"),
    "channel": gettext_lazy("Channel"), "code": gettext_lazy("Code"),
    "company_name": gettext_lazy("Company name"), "cost_centre": gettext_lazy("Cost centre"),
    "credit": gettext_lazy("Credit"), "dedupe_key": gettext_lazy("Message key"),
    "default_cap_percent": gettext_lazy("Default data limit (%)"), "ended": gettext_lazy("Ended"),
    "error": gettext_lazy("Error"), "event": gettext_lazy("Event"),
    "expected": gettext_lazy("Expected"), "extend_days": gettext_lazy("Days added"),
    "extra_days": gettext_lazy("Extra days"), "group": gettext_lazy("Group"),
    "kind": gettext_lazy("Kind"), "label": gettext_lazy("Name"),
    "left_at": gettext_lazy("Left the group"),
    "line": gettext_lazy("Order line"), "locks": gettext_lazy("Lockouts"),
    "members": gettext_lazy("Members"), "message": gettext_lazy("Message"),
    "month": gettext_lazy("Month"), "name": gettext_lazy("Name"),
    "off_session": gettext_lazy("Charged without the customer"), "ours": gettext_lazy("Our figure"),
    "pair": gettext_lazy("Currency pair"), "payment": gettext_lazy("Payment"),
    "payment_refunded": gettext_lazy("Payment refunded"), "percent": gettext_lazy("Percent"),
    "period": gettext_lazy("Plan period"), "prefix": gettext_lazy("Key prefix"),
    "product": gettext_lazy("Top-up"), "profile_status": gettext_lazy("Profile status"),
    "quantity": gettext_lazy("Quantity"), "queued": gettext_lazy("Queued to send"),
    "quotes": gettext_lazy("Price quotes"), "rate": gettext_lazy("Rate"),
    "rating": gettext_lazy("Rating"), "record": gettext_lazy("Record"),
    "reference": gettext_lazy("Reference"), "reissue": gettext_lazy("Reissue"),
    "rejected": gettext_lazy("Rejected"), "replaces": gettext_lazy("Replaces"),
    "seats": gettext_lazy("Seats"), "started": gettext_lazy("Started"),
    "tax_id": gettext_lazy("Tax ID"), "theirs": gettext_lazy("Supplier's figure"),
    "to": gettext_lazy("To"), "used": gettext_lazy("Used"), "via": gettext_lazy("Refunded through"),
}

#: Audit rows about things that are not models (``object_type`` -> what staff read).
KIND_LABELS = {"supplier": gettext_lazy("Supplier")}


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    before: str | None
    after: str | None

    def sentence(self) -> str:
        if self.before is None:
            return _("%(field)s set to %(after)s") % {"field": self.label, "after": self.after}
        if self.after is None:
            return _("%(field)s cleared (was %(before)s)") % {"field": self.label,
                                                             "before": self.before}
        return _("%(field)s changed from %(before)s to %(after)s") % {
            "field": self.label, "before": self.before, "after": self.after}


@cache
def _model(object_type: str) -> type[models.Model] | None:
    for model in apps.get_models():
        if model.__name__.lower() == object_type:
            return model
    return None


def _field(object_type: str, name: str) -> models.Field[Any, Any] | None:
    model = _model(object_type)
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # not a field of the model: a plain name
        return None
    return field if isinstance(field, models.Field) else None


def label(object_type: str, name: str) -> str:
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    field = _field(object_type, name)
    text = str(field.verbose_name) if field is not None else name.replace("_", " ")
    return text[:1].upper() + text[1:]


def _moment(text: str) -> str | None:
    if len(text) < 19 or text[4:5] != "-" or text[10:11] != "T":
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "SHORT_DATETIME_FORMAT")


#: Fields audit rows store in minor units: shown as money when the row names its currency.
MONEY_FIELDS = frozenset({"amount", "total", "refunded", "credit", "refund_amount",
                          "unit_amount", "cost"})


def _currency(*rows: dict[str, Any]) -> str | None:
    for row in rows:
        code = row.get("currency")
        if isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper():
            return code
    return None


def shown(object_type: str, name: str, value: Any, *, currency: str | None = None) -> str:
    """``value`` of field ``name`` as the console shows it; an amount in minor units as
    money when ``currency`` is known ("US$16.99", not "1699")."""
    if value is None or value == "":
        return "—"
    if currency and name in MONEY_FIELDS and isinstance(value, int) \
            and not isinstance(value, bool):
        return Money(value, currency).format(translation.get_language())
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(shown(object_type, name, item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{label(object_type, key)}: {shown(object_type, key, item)}"
                         for key, item in value.items())
    field = _field(object_type, name)
    if field is not None and field.choices:
        choices = {str(key): text for key, text in field.flatchoices}
        if str(value) in choices:
            return str(choices[str(value)])
    if isinstance(value, str):
        return _moment(value) or value
    return str(value)


def changes(entry: AuditEntry) -> list[Change]:
    """The fields that changed in ``entry``, before and after, as the console shows them."""
    before, after, kind = entry.before, entry.after, entry.object_type
    if not isinstance(before, dict) and not isinstance(after, dict):
        if before is None and after is None:
            return []
        return [Change("", _("Value"), None if before is None else shown(kind, "", before),
                       None if after is None else shown(kind, "", after))]
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    currency = _currency(new, old)
    found = []
    for name in [*old, *(key for key in new if key not in old)]:
        if name in old and name in new and old[name] == new[name]:
            continue
        found.append(Change(name, label(kind, name),
                            shown(kind, name, old[name], currency=currency)
                            if name in old else None,
                            shown(kind, name, new[name], currency=currency)
                            if name in new else None))
    return found


def sentences(entry: AuditEntry) -> list[str]:
    return [change.sentence() for change in changes(entry)]


def record_kind(object_type: str) -> str:
    """An audit entry's ``object_type`` (a model's name) as staff read it: the model's
    translated name, esimdesk's own models first; the raw name if no model has it."""
    if object_type in KIND_LABELS:
        return str(KIND_LABELS[object_type])
    found = [model for model in apps.get_models() if model._meta.model_name == object_type]
    found.sort(key=lambda model: not model.__module__.startswith("esimdesk."))
    return str(found[0]._meta.verbose_name) if found else object_type


def action_label(code: str) -> str:
    """An action code as people read it ("order.paid" → "Order paid"); a code with no name
    (rows written before one was given) is shown as stored."""
    name = ACTIONS.get(code)
    return str(name) if name is not None else code


def action_choices(codes: list[str]) -> list[tuple[str, str]]:
    """``codes`` as (code, name) choices, sorted by name in the active language."""
    named = [(code, action_label(code)) for code in codes]
    return sorted(named, key=lambda pair: pair[1].casefold())


def reason_text(reason: str) -> str:
    """Why, as staff read it: a reason esimdesk writes by its translated text (with its
    details, ``REASON_PATTERNS``), one a person typed as stored."""
    known = REASONS.get(reason)
    if known is not None:
        return str(known)
    for pattern, name in REASON_PATTERNS:
        match = pattern.fullmatch(reason)
        if match:
            return str(name) % {key: reason_text(value)
                                for key, value in match.groupdict().items()}
    return reason


def actor_name(actor: str) -> str:
    """Who acted, by the ``actor`` id a row stores: a system actor by its translated name, a
    person ("12:ana@example.com") by their e-mail address or phone, anything else (a payment
    provider's or supplier's name) as stored."""
    if actor in ACTORS:
        return str(ACTORS[actor])
    number, colon, rest = actor.partition(":")
    if colon and number.isdigit() and rest:
        return rest
    return actor


def who(entry: AuditEntry) -> str:
    """The kind of actor and the actor: "Task: Order fulfilment", "Staff member: ana@…"."""
    kind = (str(ACTOR_TYPES[entry.actor_type]) if entry.actor_type in ACTOR_TYPES
            else entry.get_actor_type_display())
    if not entry.actor:
        return kind
    return _("%(kind)s: %(actor)s") % {"kind": kind, "actor": actor_name(entry.actor)}
