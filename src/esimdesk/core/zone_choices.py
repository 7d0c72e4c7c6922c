"""The time-zone picker's choices: grouped by country, the likely ones first.

Groups, in order: the user's own (their current zone and the other zones of its country),
the zones of the countries the shop sells plans for, then every country as its own group, and
UTC last. Labels are for people ("United Kingdom — London time (GMT+0)"),
in the active language; values stay IANA names.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping

from babel.core import get_global
from django.utils import translation
from django.utils.translation import gettext as _

from esimdesk.core import clock, formats

Choice = tuple[str, str]
Group = tuple[str, list[Choice]]


def zones_by_country() -> dict[str, list[str]]:
    """Country -> its IANA zones (CLDR's list, restricted to what the tz database knows)."""
    known = formats.known_zones()
    table: Mapping[str, list[str]] = get_global("territory_zones")
    return {country: [z for z in zones if z in known]
            for country, zones in table.items() if country != "001"
            and any(z in known for z in zones)}


def _offset_minutes(name: str, at: dt.datetime) -> int:
    zone = formats.zone(name)
    offset = at.astimezone(zone).utcoffset() if zone is not None else None
    return int(offset.total_seconds()) // 60 if offset is not None else 0


def _zone_only(name: str, at: dt.datetime) -> str:
    return _("%(zone)s (%(offset)s)") % {"zone": formats.zone_label(name),
                                         "offset": formats.gmt_offset(name, at)}


def zone_choices(*, current: str | None, sold_countries: Iterable[str] = (),
                 at: dt.datetime | None = None) -> list[Group]:
    """The picker's groups in the active language (cached per language and day)."""
    moment = at or clock.now()
    day = moment.replace(minute=0, second=0, microsecond=0)
    return _zone_choices(translation.get_language() or "en", formats.locale_name(),
                         current, tuple(sorted(set(sold_countries))), day)


@functools.lru_cache(maxsize=64)
def _zone_choices(language: str, locale: str, current: str | None,
                  sold_countries: tuple[str, ...], at: dt.datetime) -> list[Group]:
    by_country = zones_by_country()
    shown: set[str] = set()

    def with_country(names: Iterable[str]) -> list[Choice]:
        fresh = [n for n in names if n not in shown]
        shown.update(fresh)
        return [(n, formats.zone_choice_label(n, at)) for n in fresh]

    def ordered(names: Iterable[str]) -> list[str]:
        return sorted(names, key=lambda n: (_offset_minutes(n, at), formats.zone_label(n)))

    groups: list[Group] = []
    home = formats.zone_country(current)
    mine: list[str] = []
    if current and not formats.is_utc(current) and formats.zone(current) is not None:
        mine.append(current)
    mine += ordered(by_country.get(home or "", []))
    if mine:
        groups.append((_("Your time zone"), with_country(dict.fromkeys(mine))))
    sold = sorted({c.upper() for c in sold_countries if c.upper() in by_country},
                  key=formats.country_label)
    selling = with_country(n for country in sold for n in ordered(by_country[country]))
    if selling:
        groups.append((_("Where our plans work"), selling))
    for country in sorted(by_country, key=formats.country_label):
        rest = [n for n in ordered(by_country[country]) if n not in shown]
        if rest:
            shown.update(rest)
            groups.append((formats.country_label(country),
                           [(n, _zone_only(n, at)) for n in rest]))
    groups.append((_("Other"), [("UTC", _("Coordinated Universal Time (GMT+0)"))]))
    return groups


def choice_values(groups: list[Group]) -> set[str]:
    return {value for _label, options in groups for value, _text in options}
