"""Finding a destination from what a traveller types: a country's or region's name in English
or Chinese, an alias ("UK", "Holland", "美利坚"), or pinyin with or without spaces ("riben",
"ri ben", initials "rb"). Case, accents, punctuation and spaces do not matter.

The names besides CLDR's live in ``catalog/data/destination_names.json``."""

from __future__ import annotations

import functools
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esimdesk.catalog.models import Country, Region
from esimdesk.core.i18n import country_name

NAMES_FILE = Path(__file__).resolve().parent / "data" / "destination_names.json"

# How well a query matches a destination: lower is better.
EXACT, PREFIX, WORD, INSIDE = 0, 1, 2, 3


def normalize(text: str) -> str:
    """Lower case, no accents, no spaces or punctuation; full-width letters as ASCII."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.casefold()
                   if ch.isalnum() and not unicodedata.combining(ch))


def _has_cjk(text: str) -> bool:
    return any(unicodedata.east_asian_width(ch) in ("W", "F") for ch in text)


@functools.cache
def other_names() -> dict[str, dict[str, dict[str, list[str]]]]:
    """The data file: ``{"countries": {code: {"en", "zh", "pinyin"}}, "regions": {...}}``."""
    data: dict[str, Any] = json.loads(NAMES_FILE.read_text(encoding="utf-8"))
    return {"countries": data["countries"], "regions": data["regions"]}


def pinyin_initial(code: str, kind: str = "countries") -> str:
    """The first letter of a destination's Chinese name in pinyin (for A-Z lists in
    Chinese), or "" when the data file has none."""
    entry = other_names()[kind].get(code, {})
    spellings = entry.get("pinyin") or [""]
    return spellings[0][:1].upper()


@dataclass(frozen=True)
class Destination:
    kind: str  # "country" or "region"
    code: str
    popular: bool
    keys: tuple[str, ...]  # whole names, normalized
    words: tuple[str, ...]  # the words of the English names, normalized

    def score(self, query: str) -> int | None:
        """How well ``query`` (normalized) matches, or None."""
        if not query:
            return None
        if query in self.keys:
            return EXACT
        if any(key.startswith(query) for key in self.keys):
            return PREFIX
        if len(query) >= 2 and any(word.startswith(query) for word in self.words):
            return WORD
        if (len(query) >= 3 or _has_cjk(query)) and any(query in key for key in self.keys):
            return INSIDE
        return None


def _destination(kind: str, code: str, popular: bool, names: list[str],
                 entry: dict[str, list[str]]) -> Destination:
    english = [n for n in names if not _has_cjk(n)] + entry.get("en", [])
    everything = names + entry.get("en", []) + entry.get("zh", [])
    keys = {normalize(n) for n in everything}
    for spelling in entry.get("pinyin", []):
        syllables = spelling.split()
        keys.add("".join(syllables))
        if len(syllables) > 1:
            keys.add("".join(s[0] for s in syllables))  # initials: "rb" for ri ben
    words = {normalize(w) for n in english for w in n.replace("-", " ").split()}
    return Destination(kind=kind, code=code, popular=popular,
                       keys=tuple(sorted(k for k in keys if k)),
                       words=tuple(sorted(w for w in words if w)))


def destinations() -> list[Destination]:
    """Every country and region of the catalog with every name it answers to (two queries)."""
    data = other_names()
    found = []
    for code, popular in Country.objects.values_list("code", "popular"):
        names = [code, country_name(code, "en"), country_name(code, "zh-hans")]
        found.append(_destination("country", code, popular, names,
                                  data["countries"].get(code, {})))
    for code, name_en, name_zh in Region.objects.values_list("code", "name_en",
                                                              "name_zh_hans"):
        found.append(_destination("region", code, False, [name_en, name_zh],
                                  data["regions"].get(code, {})))
    return found


@dataclass(frozen=True)
class Match:
    kind: str
    code: str
    score: int


def search(query: str, *, limit: int = 8,
           among: list[Destination] | None = None) -> list[Match]:
    """The destinations ``query`` matches, best first: exact names, then names it begins,
    then names with a word it begins, then names it is inside of; countries before regions,
    popular countries first."""
    text = normalize(query)
    scored = []
    for item in destinations() if among is None else among:
        score = item.score(text)
        if score is not None:
            scored.append((score, item.kind != "country", not item.popular, item.code, item))
    scored.sort(key=lambda row: row[:4])
    return [Match(kind=row[4].kind, code=row[4].code, score=row[0]) for row in scored[:limit]]


def best_match(query: str) -> Match | None:
    """The one destination a search means: an exact name, or the only destination it
    matches at its best score; None when it is ambiguous or matches nothing."""
    found = search(query, limit=50)
    if not found:
        return None
    if found[0].score == EXACT:
        return found[0]
    best = [m for m in found if m.score == found[0].score]
    return best[0] if len(best) == 1 else None
