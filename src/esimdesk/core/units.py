"""Human-readable quantities: data in bytes, voice in seconds, SMS in messages."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

UNITS = {"data": "bytes", "voice": "seconds", "sms": "messages"}


def format_bytes(value: int) -> str:
    gib = 1024**3
    mib = 1024**2
    if value >= gib:
        number = value / gib
        text = f"{number:.1f}".rstrip("0").rstrip(".")
        return _("%(n)s GB") % {"n": text}
    if value >= mib:
        return _("%(n)s MB") % {"n": value // mib}
    return _("%(n)s KB") % {"n": value // 1024}


def format_quantity(kind: str, value: int) -> str:
    if kind == "data":
        return format_bytes(value)
    if kind == "voice":
        minutes = value // 60
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return ngettext("%(n)d SMS", "%(n)d SMS", value) % {"n": value}


def kind_label(kind: str) -> str:
    return {"data": _("Data"), "voice": _("Calls"), "sms": _("SMS")}.get(kind, kind)
