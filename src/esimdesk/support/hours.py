"""Support opening hours: ``ESIMDESK_SUPPORT_HOURS``, shown in the reader's language.

The option is ``24/7``, or opening times and a time zone::

    Mon-Fri 09:00-18:00, Sat 10:00-16:00; Europe/London
    Mon-Sun 08:00-22:00; Asia/Shanghai
    Fri 18:00-02:00; UTC                (closing before opening runs past midnight)

Days are English three-letter abbreviations (``Mon`` … ``Sun``), alone or as a range
(``Sat-Mon`` wraps over the week end); times are 24-hour ``HH:MM`` (``24:00`` for midnight at
the end of the day); the time zone is an IANA name (``UTC`` when left out). Day and time-zone
names are written out by Babel in the reader's language, and whether support is open now is
decided in that time zone, so a traveller anywhere reads the right answer.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import get_day_names, get_timezone_gmt, get_timezone_name
from django.utils import translation
from django.utils.translation import gettext as _

from esimdesk import config
from esimdesk.core import clock
from esimdesk.core.money import babel_locale

logger = logging.getLogger(__name__)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
                   r"(?P<opens>\d{1,2}:\d{2})\s*-\s*(?P<closes>\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class Span:
    days: tuple[int, ...]  # 0 = Monday
    opens: int  # minutes after midnight
    closes: int  # minutes after midnight; <= opens: the next day

    def is_open(self, weekday: int, minute: int) -> bool:
        if self.opens < self.closes:
            return weekday in self.days and self.opens <= minute < self.closes
        yesterday = (weekday - 1) % 7
        return ((weekday in self.days and minute >= self.opens)
                or (yesterday in self.days and minute < self.closes))


@dataclass(frozen=True)
class Hours:
    always: bool
    spans: tuple[Span, ...]
    zone: str

    def is_open(self, at: dt.datetime | None = None) -> bool:
        if self.always:
            return True
        local = (at or clock.now()).astimezone(ZoneInfo(self.zone))
        minute = local.hour * 60 + local.minute
        return any(span.is_open(local.weekday(), minute) for span in self.spans)


def _minutes(text: str, *, end: bool) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise ValueError(f"not a time of day: {text!r}")
    return hours * 60 + minutes


def parse(text: str) -> Hours:
    """Hours from the option's text; ValueError with the reason when it is malformed."""
    spec = text.strip()
    if spec.replace(" ", "").lower() in {"24/7", "always"}:
        return Hours(always=True, spans=(), zone="UTC")
    times, _sep, zone = spec.partition(";")
    zone = zone.strip() or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r}") from None
    spans = []
    for part in times.split(","):
        match = _SPAN.match(part.strip().lower())
        if not match:
            raise ValueError(f"not 'Mon-Fri 09:00-18:00': {part.strip()!r}")
        first, last = match.group("first"), match.group("last") or match.group("first")
        if first not in DAYS or last not in DAYS:
            raise ValueError(f"unknown day in {part.strip()!r} (use Mon … Sun)")
        start, stop = DAYS.index(first), DAYS.index(last)
        days = tuple((start + i) % 7 for i in range((stop - start) % 7 + 1))
        opens = _minutes(match.group("opens"), end=False)
        closes = _minutes(match.group("closes"), end=True)
        if opens == closes:
            raise ValueError(f"opens and closes at the same time: {part.strip()!r}")
        spans.append(Span(days=days, opens=opens, closes=closes))
    return Hours(always=False, spans=tuple(spans), zone=zone)


def configured() -> Hours | None:
    """The configured hours, or None when the option cannot be read (then the page shows
    the option's text as it is, and the log says why)."""
    try:
        return parse(config.env("ESIMDESK_SUPPORT_HOURS"))
    except ValueError as error:
        logger.warning("ESIMDESK_SUPPORT_HOURS is not valid: %s", error)
        return None


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days(days: tuple[int, ...], names: Mapping[int, str]) -> str:
    if len(days) == 7:
        return _("Every day")
    if len(days) == 1:
        return names[days[0]]
    return f"{names[days[0]]}–{names[days[-1]]}"


def describe(hours: Hours | None, language: str | None, *,
             at: dt.datetime | None = None) -> dict[str, object]:
    """What the contact page shows: lines of opening times, the time zone, open or not, in
    ``language`` (the language active in the thread when it is None)."""
    with translation.override(language or translation.get_language()):
        return _describe(hours, language, at)


def _describe(hours: Hours | None, language: str | None,
              at: dt.datetime | None) -> dict[str, object]:
    if hours is None:
        return {"lines": [config.env("ESIMDESK_SUPPORT_HOURS").strip()], "zone": "",
                "open": None}
    if hours.always:
        return {"lines": [_("24 hours a day, every day")], "zone": "", "open": True}
    locale = babel_locale(language)
    names = get_day_names("wide", locale=locale)
    lines = [f"{_days(span.days, names)} {_clock(span.opens)}–{_clock(span.closes)}"
             for span in hours.spans]
    moment = (at or clock.now()).astimezone(ZoneInfo(hours.zone))
    zone = (f"{get_timezone_name(moment, width='long', locale=locale)} "
            f"({get_timezone_gmt(moment, locale=locale)})")
    return {"lines": lines, "zone": zone, "open": hours.is_open(at)}
