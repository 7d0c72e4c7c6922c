"""Dates, times, time zones and money for people: one place, the traveller's conventions.

Every page, e-mail, PDF and the support chat formats through here. The conventions follow
the active language (``translation``) and its region, the time zone is the active one
(``timezone``): the portal's middleware activates the signed-in user's (or, for a visitor,
the one the browser reported); e-mails and PDFs override both with the recipient's.

The region picks among a language's conventions (English: en_GB "7 Dec 2026, 19:53",
en_US "Dec 7, 2026, 7:53 PM"). It comes from the active time zone's country, else from the
request's Accept-Language region (``activate_region``), else the language's default.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from decimal import Decimal

from asgiref.local import Local
from babel import Locale, localedata
from babel.core import get_global
from babel.dates import (
    format_date,
    format_interval,
    format_skeleton,
    format_time,
    format_timedelta,
    get_timezone_location,
)
from babel.numbers import format_currency, get_territory_currencies
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from esimdesk.core import clock

_state = Local()
UTC = zoneinfo.ZoneInfo("UTC")
# Narrow no-break and thin spaces (CLDR's "7:53 PM", "7 - 9 Dec") are plain spaces: the
# browsers' Intl writes those (the chat formats there too), and they are missing from the
# PDFs' fonts.
_NNBSP = str.maketrans({"\u202f": " ", "\u2009": " "})
_ACCEPT = re.compile(r"([A-Za-z]{1,8})(?:[-_]([A-Za-z0-9]{1,8}))?(?:[-_]([A-Za-z0-9]{1,8}))?")
LANGUAGE_CURRENCIES = {"de": "EUR", "fr": "EUR", "es": "EUR", "it": "EUR", "nl": "EUR",
                       "pt": "EUR", "zh": "CNY", "zh-hans": "CNY", "zh-cn": "CNY",
                       "ja": "JPY", "ko": "KRW", "zh-hant": "USD"}


# ---- the region hint of this request ----------------------------------------------------

def activate_region(region: str | None) -> None:
    """The Accept-Language region of this request (used when the time zone names none)."""
    _state.region = (region or "").upper() or None


def deactivate_region() -> None:
    _state.region = None


def region_hint() -> str | None:
    return getattr(_state, "region", None)


def accept_language_region(header: str | None) -> tuple[str, str | None]:
    """(primary language, region) of the first entry of an Accept-Language header:
    ``"en-GB,en;q=0.8"`` -> ("en", "GB"), ``"zh-Hans-CN"`` -> ("zh", "CN"), ``""`` -> ("", None)."""
    first = (header or "").split(",")[0].split(";")[0].strip()
    match = _ACCEPT.fullmatch(first)
    if not match:
        return "", None
    language, second, third = (part or "" for part in match.groups())
    region = next((p.upper() for p in (second, third) if len(p) == 2 and p.isalpha()), None)
    if region is None and language.lower() == "zh" and second.lower() == "hans":
        region = "CN"
    return language.lower(), region


# ---- time zones -------------------------------------------------------------------------

def zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The zone named ``name`` if it is a real IANA zone, else None (never raises)."""
    if not name or len(name) > 64 or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


@functools.lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    """Every IANA zone this machine knows (the tz database), plus UTC."""
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def valid_zone(name: object) -> str | None:
    """``name`` if it names a known IANA zone, else None (for input from browsers)."""
    if isinstance(name, str) and name in known_zones() and zone(name) is not None:
        return name
    return None


def zone_country(name: str | None) -> str | None:
    """ISO country of an IANA zone (``Europe/London`` -> ``GB``), None for UTC and the like."""
    territories: Mapping[str, str] = get_global("zone_territories")
    code = territories.get(name or "")
    return code if code and code != "001" else None


def _zone_name(tz: dt.tzinfo | str | None = None) -> str:
    if isinstance(tz, str):
        return tz
    return str(getattr(tz or timezone.get_current_timezone(), "key", None)
               or timezone.get_current_timezone_name())


def is_utc(name: str | None) -> bool:
    return (name or "UTC") in {"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/UCT", "UCT", "Zulu",
                               "Etc/Universal", "Universal", "Etc/Zulu"}


# ---- locale -----------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


@functools.lru_cache(maxsize=512)
def _exists(name: str) -> bool:
    return bool(localedata.exists(name))


def locale_name(language: str | None = None, tz: dt.tzinfo | str | None = None) -> str:
    """Babel locale of ``language`` (default: the active one) in the active region."""
    code = (language or translation.get_language() or "en").lower()
    if code.startswith("zh"):
        return "zh_Hans_CN"
    for region in (zone_country(_zone_name(tz)), region_hint()):
        if region and _exists(f"en_{region}"):
            return f"en_{region}"
    return "en_US"


def bcp47(language: str | None = None) -> str:
    """The active locale as a BCP 47 tag for the browser's Intl API: 'en-GB', 'zh-Hans-CN'."""
    return locale_name(language).replace("_", "-")


def current_locale(language: str | None = None) -> Locale:
    return _locale(locale_name(language))


# ---- instants and dates -----------------------------------------------------------------

def local(value: dt.datetime, tz: dt.tzinfo | None = None) -> dt.datetime:
    """``value`` (aware; naive means UTC) in ``tz`` or the active time zone."""
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz or timezone.get_current_timezone())


def _day(value: dt.date | dt.datetime) -> dt.date:
    return local(value).date() if isinstance(value, dt.datetime) else value


def _clean(text: object) -> str:
    return str(text).translate(_NNBSP)


def date(value: dt.date | dt.datetime | None, length: str = "medium") -> str:
    """'7 Dec 2026' / 'Dec 7, 2026' / '2026年12月7日'; ``length`` 'short' gives '07/12/2026'."""
    if value is None:
        return ""
    return _clean(format_date(_day(value), length, locale=current_locale()))


def day_month(value: dt.date | dt.datetime | None) -> str:
    """'7 Dec' / 'Dec 7' / '12月7日' (chart labels)."""
    if value is None:
        return ""
    return _clean(format_skeleton("MMMd", _day(value), locale=current_locale()))


def month(value: dt.date | dt.datetime | None) -> str:
    """'December 2026' / '2026年12月'."""
    if value is None:
        return ""
    return _clean(format_skeleton("yMMMM", _day(value), locale=current_locale()))


def time(value: dt.datetime | None) -> str:
    """'19:53' / '7:53 PM'."""
    if value is None:
        return ""
    return _clean(format_time(local(value), "short", locale=current_locale()))


def datetime(value: dt.datetime | None) -> str:
    """'7 Dec 2026, 19:53' / 'Dec 7, 2026, 7:53 PM' / '2026年12月7日 19:53'."""
    if value is None:
        return ""
    locale = current_locale()
    pattern = str(locale.datetime_formats["medium"]).replace("'", "")
    return pattern.replace("{1}", date(value)).replace("{0}", time(value))


def datetime_zone(value: dt.datetime | None) -> str:
    """The date and time followed by the zone: '7 Dec 2026, 19:53 (London time)'."""
    if value is None:
        return ""
    return _("%(when)s (%(zone)s)") % {"when": datetime(value), "zone": zone_label()}


def relative(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """'in 3 days' / '2 hours ago' / '3天后'."""
    if value is None:
        return ""
    now = now or clock.now()
    return _clean(format_timedelta(local(value) - local(now), add_direction=True,
                                   threshold=1.0, locale=current_locale()))


def date_range(start: dt.date | dt.datetime | None, end: dt.date | dt.datetime | None) -> str:
    """'7 Dec - 6 Jan 2027' style intervals of days (CLDR's interval formats)."""
    if start is None or end is None:
        return date(start or end)
    return _clean(format_interval(_day(start), _day(end), "yMMMd", locale=current_locale()))


def datetime_range(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """'7 Dec 2026, 19:53 - 6 Jan 2027, 19:53'; on one day '7 Dec 2026, 19:53 - 21:00'."""
    if start is None or end is None:
        return datetime(start or end)
    if _day(start) == _day(end):
        return f"{datetime(start)} – {time(end)}"
    return f"{datetime(start)} – {datetime(end)}"


def iso(value: dt.datetime | None) -> str:
    """Machine-readable instant (for <time datetime> and JSON), in UTC with its offset."""
    return local(value, UTC).isoformat() if value is not None else ""


# ---- time zone names for people ---------------------------------------------------------

def zone_label(tz: dt.tzinfo | str | None = None) -> str:
    """'London time' / '伦敦时间'; UTC reads 'Coordinated Universal Time' / '协调世界时'."""
    name = _zone_name(tz)
    locale = current_locale()
    if is_utc(name) or zone(name) is None:
        return _("Coordinated Universal Time")
    city = get_timezone_location(name, locale=locale, return_city=True)
    return _("%(city)s time") % {"city": city}


def gmt_offset(tz: dt.tzinfo | str | None, at: dt.datetime | None = None) -> str:
    """'GMT+0', 'GMT+8', 'GMT-3:30' at ``at`` (default now)."""
    zone_info = zone(_zone_name(tz)) or UTC
    offset = (at or clock.now()).astimezone(zone_info).utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "\u2212"
    hours, rest = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours}" + (f":{rest:02d}" if rest else "")


def country_label(code: str) -> str:
    return str(current_locale().territories.get(code, code))


def zone_choice_label(name: str, at: dt.datetime | None = None) -> str:
    """'United Kingdom — London time (GMT+0)' / '英国 — 伦敦时间 (GMT+0)'."""
    country = zone_country(name)
    label = zone_label(name)
    offset = gmt_offset(name, at)
    text = _("%(zone)s (%(offset)s)") % {"zone": label, "offset": offset}
    return f"{country_label(country)} — {text}" if country else text


# ---- money ------------------------------------------------------------------------------

def money(amount: Decimal, currency: str, language: str | None = None) -> str:
    """'$5.00' (en_US), 'US$5.00' (en_GB, zh), '¥35.00' (zh), '£5.00' (en_GB)."""
    return _clean(format_currency(amount, currency, locale=locale_name(language)))


def guess_currency(*, accept_language: str | None, time_zone: str | None,
                   language: str | None, sold: Iterable[str]) -> str:
    """A new visitor's currency: by the country of their time zone or Accept-Language
    region, else by their browser's (or the active) language; see ``currency_for``."""
    primary, region = accept_language_region(accept_language)
    first = (accept_language or "").split(",")[0].split(";")[0].strip().lower()
    if first.startswith("zh") and ("hant" in first or region in {"TW", "HK", "MO"}):
        first = "zh-hant"
    return currency_for(language=first or primary or language or "",
                        region=zone_country(time_zone) or region, sold=sold)


def currency_for(*, language: str | None, region: str | None,
                 sold: Iterable[str]) -> str:
    """The currency a new visitor most likely wants among those the shop ``sold``: the
    region's own, else by language (EUR for de/fr/es/it, CNY for Chinese), else USD."""
    offered = [code.upper() for code in sold]
    if region:
        for code in get_territory_currencies(region.upper()):
            if code in offered:
                return str(code)
    code = (language or "").lower()
    for key in (code, code.split("-")[0]):
        wanted = LANGUAGE_CURRENCIES.get(key)
        if wanted in offered:
            return str(wanted)
    return "USD" if "USD" in offered or not offered else offered[0]
