"""Device eSIM compatibility: does this phone, tablet or watch take an eSIM?

The list lives in ``data/devices.json`` (models with eSIM, their regional exceptions and the
older flagships without) and ``data/no_esim.json`` (hundreds of phones without eSIM, and
patterns for whole budget lines such as Redmi, Galaxy A0x-A2x or vivo Y); see
docs/devices.md. Notes in the files are codes, so that every sentence a traveller reads is a
translatable string here.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from esimdesk.core.errors import ValidationFailed
from esimdesk.core.ids import normalize_eid

DATA_FILE = Path(__file__).parent / "data" / "devices.json"
NO_ESIM_FILE = Path(__file__).parent / "data" / "no_esim.json"

SUPPORTED, NOT_SUPPORTED, DEPENDS, UNKNOWN = "supported", "not_supported", "depends", "unknown"
# ISO 3166 user-assigned code: "sold somewhere none of the exceptions apply".
ELSEWHERE = "ZZ"

NOTES: dict[str, Any] = {
    "apple_cn": _("iPhones sold in mainland China have two physical SIM slots and no eSIM."),
    "apple_hkmo": _("This model sold in Hong Kong or Macao has two physical SIM slots and no "
                    "eSIM (iPhone XS, the mini models and iPhone SE there do have eSIM)."),
    "apple_us_esim_only": _("Models sold in the United States have no SIM tray: eSIM only."),
    "apple_esim_only_some": _("Models sold in some countries (such as the United States) have "
                              "no SIM tray: eSIM only."),
    "apple_air": _("iPhone Air has no SIM tray anywhere: eSIM only."),
    "ipad_cn": _("iPads sold in mainland China have no eSIM."),
    "cellular_only": _("Only the Wi-Fi + Cellular model has eSIM; Wi-Fi-only models cannot "
                       "use a data plan."),
    "samsung_cn": _("Models sold in mainland China or Hong Kong (model numbers ending in 0) "
                    "usually have two physical SIM slots and no eSIM."),
    "samsung_us": _("Models sold in the United States (model numbers ending in U) may have "
                    "no eSIM."),
    "samsung_kr": _("Models sold in South Korea (model numbers ending in N) have no eSIM."),
    "some_versions": _("Only some versions of this model have eSIM: look for “Add eSIM” in "
                       "Settings > Connections > SIM manager."),
    "pixel2_fi": _("The eSIM of Pixel 2 works only with Google Fi."),
    "pixel3_regional": _("Pixel 3 and 3 XL sold in Japan, Australia or Taiwan cannot use "
                         "eSIM."),
    "pixel3a_regional": _("Pixel 3a sold in Japan or South-East Asia has no eSIM."),
    "china_version": _("The version sold in mainland China has no eSIM."),
    "japan_model": _("Sold in Japan; other versions may lack eSIM."),
    "esim_only": _("This phone has no SIM tray: eSIM only."),
    "watch": _("A watch’s eSIM is set up through the paired phone’s carrier; travel data plans "
               "usually cannot be installed on a watch."),
    "no_esim": _("This model has no eSIM."),
    "no_esim_line": _("Phones of this line have no eSIM: they take physical SIM cards only."),
    "depends": _("Whether it has eSIM depends on where it was sold. Look for “Add eSIM” in "
                 "your phone’s settings."),
    "unlocked": _("The phone must not be locked to a carrier, or the eSIM will not work."),
    "unknown": _("We do not know this model. Look for “Add eSIM” in your phone’s settings, "
                 "or type the model name (Settings > About phone)."),
    "ua_no_model": _("Your browser does not say which phone this is. Type its model name "
                     "(Settings > About phone)."),
    "ua_iphone": _("This is an iPhone: most from iPhone XS and XR on support eSIM. iPhones "
                   "sold in mainland China (and most sold in Hong Kong or Macao) have no eSIM, "
                   "except iPhone Air."),
    "ua_desktop": _("This is not a phone. Open this page on your phone, or type its model."),
}

# Samsung's model number suffix says where the phone was sold: SM-S9110 (0) is the China/Hong
# Kong version, SM-S911N Korean, SM-S911U/U1/W North American.
_SAMSUNG = re.compile(r"^sm([a-z]\d{3})([a-z0-9]*)$")
_SAMSUNG_REGION = (("u1", "US"), ("u", "US"), ("w", "US"), ("n", "KR"), ("0", "CN"))
_STORAGE = re.compile(r"\b\d+\s*(gb|tb)\b", re.IGNORECASE)
_ANDROID_MODEL = re.compile(r"Android[ \d.]*;\s*(?:[a-z]{2}[-_][a-zA-Z]{2};\s*)?([^;)]+?)"
                            r"\s*(?:Build/|\)|;)")


@dataclass(frozen=True, slots=True)
class Device:
    brand: str
    model: str
    kind: str = "phone"
    esim: bool = True
    aliases: tuple[str, ...] = ()
    exceptions: dict[str, str] = field(default_factory=dict)  # region code -> note code
    note: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"brand": self.brand, "model": self.model, "kind": self.kind}


@dataclass(slots=True)
class Verdict:
    verdict: str
    device: Device | None = None
    notes: list[str] = field(default_factory=list)
    eid_valid: bool | None = None
    region: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict,
                "device": self.device.as_dict() if self.device else None,
                "notes": self.notes, "eid_valid": self.eid_valid}


def _key(text: str) -> str:
    """Compare names without case, spaces or punctuation; ``+`` reads as ``plus``."""
    text = _STORAGE.sub("", text.casefold().replace("+", " plus"))
    return re.sub(r"[^0-9a-z]", "", text)


def _digits(text: str) -> str:
    return "".join(re.findall(r"\d+", text))


@dataclass(frozen=True, slots=True)
class Line:
    """A whole line of phones without eSIM, by a pattern on the normalised name (``_key``)."""

    brand: str
    name: str
    pattern: re.Pattern[str]
    examples: tuple[str, ...] = ()


@cache
def _no_esim() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(NO_ESIM_FILE.read_text(encoding="utf-8"))
    return data


@cache
def lines() -> tuple[Line, ...]:
    return tuple(Line(brand=item["brand"], name=item["line"], pattern=re.compile(item["pattern"]),
                      examples=tuple(item.get("examples", ())))
                 for item in _no_esim()["lines"])


@cache
def devices() -> tuple[Device, ...]:
    """Every listed model: ``devices.json`` first (it wins where a name is in both), then the
    models of ``no_esim.json`` (``esim: false``)."""
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))["devices"]
    raw += [{**item, "esim": False} for item in _no_esim()["models"]]
    out = []
    for item in raw:
        exceptions = {code.strip().upper(): note
                      for codes, note in item.get("exceptions", {}).items()
                      for code in codes.split(",")}
        out.append(Device(brand=item["brand"], model=item["model"],
                          kind=item.get("kind", "phone"), esim=item.get("esim", True),
                          aliases=tuple(item.get("aliases", ())), exceptions=exceptions,
                          note=item.get("note", "")))
    return tuple(out)


@cache
def _index() -> dict[str, tuple[Device, str]]:
    """Normalised name -> (device, region the name implies). Names are indexed alone and with
    the brand in front, so "Galaxy S23" and "Samsung Galaxy S23" both match."""
    index: dict[str, tuple[Device, str]] = {}
    for device in devices():
        for name in (device.model, *device.aliases):
            name, _at, region = name.partition("@")
            for variant in (name, f"{device.brand} {name}"):
                index.setdefault(_key(variant), (device, region.upper()))
    return index


def find_device(model: str) -> tuple[Device | None, str]:
    """The device a typed model name or model number means, and the region its model number
    implies ("" when none). Fuzzy, but never across different numbers: "iPhone 14" must not
    become "iPhone 13"."""
    key = _key(model)
    if not key:
        return None, ""
    index = _index()
    if key in index:
        return index[key]
    if key.endswith("5g") and key[:-2] in index:
        return index[key[:-2]]
    samsung = _SAMSUNG.match(key)
    if samsung and f"sm{samsung[1]}" in index:
        device, _region = index[f"sm{samsung[1]}"]
        suffix = samsung[2]
        # Any other suffix (B, F, DS...) is a version sold outside the exception regions.
        region = next((r for s, r in _SAMSUNG_REGION if suffix.startswith(s)),
                      ELSEWHERE if suffix else "")
        return device, region
    for brand in {d.brand for d in devices()}:
        if key.startswith(_key(brand)) and key[len(_key(brand)):] in index:
            return index[key[len(_key(brand)):]]
    line = next((line for line in lines() if line.pattern.match(key)), None)
    if line is not None:
        return Device(brand=line.brand, model=model.strip(), esim=False,
                      note="no_esim_line"), ""
    if not _digits(key):
        return None, ""  # "iPhone", "Pixel", "Galaxy S": a line, not one model
    same_numbers = [k for k in index if _digits(k) == _digits(key)]
    close = difflib.get_close_matches(key, same_numbers, n=1, cutoff=0.8)
    return index[close[0]] if close else (None, "")


def _note(code: str) -> str:
    return str(NOTES.get(code, code))


def verdict_for_device(device: Device, region: str = "") -> Verdict:
    notes = [_note(device.note)] if device.note else []
    if not device.esim:
        said = [] if device.note == "no_esim_line" else [_note("no_esim")]  # said once
        return Verdict(NOT_SUPPORTED, device, [*said, *notes], region=region)
    if device.kind == "watch":
        return Verdict(DEPENDS, device, [_note("watch"), *notes], region=region)
    if region and region in device.exceptions:
        return Verdict(NOT_SUPPORTED, device, [_note(device.exceptions[region]), *notes],
                       region=region)
    if device.exceptions and not region:
        exception_notes = list(dict.fromkeys(_note(n) for n in device.exceptions.values()))
        return Verdict(DEPENDS, device,
                       [_note("depends"), *exception_notes, *notes, _note("unlocked")])
    return Verdict(SUPPORTED, device, [*notes, _note("unlocked")], region=region)


def check_model(model: str, region: str = "") -> Verdict:
    device, implied = find_device(model)
    if device is None:
        return Verdict(UNKNOWN, None, [_note("unknown")])
    return verdict_for_device(device, normalize_region(region) or implied)


_IPHONE = Device(brand="Apple", model="iPhone", kind="phone")
_IPAD = Device(brand="Apple", model="iPad", kind="tablet")


def check_user_agent(user_agent: str, region: str = "") -> Verdict:
    """Android browsers name the model (``Linux; Android 14; SM-S911B``); iOS ones never say
    which iPhone, so the answer for them is general."""
    ua = user_agent or ""
    if "iPhone" in ua:
        return Verdict(DEPENDS, _IPHONE, [_note("ua_iphone"), _note("unlocked")])
    if "iPad" in ua:
        return Verdict(DEPENDS, _IPAD, [_note("cellular_only"), _note("ipad_cn"),
                                        _note("unlocked")])
    if "Android" in ua:
        match = _ANDROID_MODEL.search(ua)
        # Chrome's reduced User-Agent says only "K" instead of the model.
        if match and len(match[1]) > 1:
            verdict = check_model(match[1], region)
            if verdict.verdict != UNKNOWN:
                return verdict
        return Verdict(UNKNOWN, None, [_note("ua_no_model")])
    return Verdict(UNKNOWN, None, [_note("ua_desktop")])


def normalize_region(region: str | None) -> str:
    """An ISO 3166 alpha-2 code in upper case, "" for none; anything else is refused."""
    code = (region or "").strip().upper()
    if code and not re.fullmatch(r"[A-Z]{2}", code):
        raise ValidationFailed(_("The region must be a two-letter country code."),
                               code="invalid_region", detail={"region": region})
    return code


def is_valid_eid(eid: str) -> bool:
    try:
        normalize_eid(eid)
    except ValidationFailed:
        return False
    return True


def check(*, model: str | None = None, user_agent: str | None = None,
          region: str | None = None, eid: str | None = None) -> Verdict:
    """The verdict for a typed model (preferred) or else a User-Agent."""
    code = normalize_region(region)
    if model and model.strip():
        verdict = check_model(model, code)
    elif user_agent and user_agent.strip():
        verdict = check_user_agent(user_agent, code)
    else:
        raise ValidationFailed(_("Give a device model or a browser User-Agent."),
                               code="model_required")
    if eid:
        verdict.eid_valid = is_valid_eid(eid)
    return verdict


def region_choices() -> list[tuple[str, Any]]:
    """Regions where some models differ; the portal's select offers only these."""
    return [("", _("Elsewhere / I don’t know")), ("CN", _("Mainland China")),
            ("HK", _("Hong Kong")), ("MO", _("Macao")), ("TW", _("Taiwan")),
            ("JP", _("Japan")), ("KR", _("South Korea")), ("US", _("United States")),
            ("AU", _("Australia")), ("SG", _("Singapore"))]
