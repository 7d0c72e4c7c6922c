"""The phone number field of every form that asks for one (sign-up, sign-in by code, phone
change, SMS password reset): a country selector and the number as people dial it at home.

"139 1234 5678" with China chosen is stored as +8613912345678, "07700 900123" with the
United Kingdom as +447700900123; a number typed in full ("+44 7700 900123", "0044 …") is
taken as it is, whatever the selector says. The selector starts at the visitor's likely
country (their number's, then their browser's Accept-Language region, their time zone,
their language), lists the likely countries first and shows calling codes ("China +86");
the placeholder is an example number of the chosen country, in its national format
(``static/portal/phone-input.js`` changes it with the selector).

The field also takes a plain string (the API's and allauth's own calls, and a form posted
with a single ``phone`` value): that must carry its country code, or it is read in the
visitor's likely country.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import phonenumbers
from allauth.core import context
from babel.core import get_global
from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from esimdesk.accounts.phones import parse_phone
from esimdesk.core.errors import MESSAGES, ValidationFailed
from esimdesk.core.i18n import country_name

#: after the visitor's own: the countries most of the shop's travellers dial from
POPULAR = ("CN", "HK", "MO", "TW", "GB", "US", "SG", "MY", "AU", "JP", "KR", "DE", "FR", "CA")
_LANGUAGE_REGION = {"zh": "CN", "zh-hans": "CN", "zh-cn": "CN", "zh-hant": "TW"}
_TAG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{4}))?(?:[-_]([a-zA-Z]{2}))?")


def _regions_of_accept_language(header: str) -> list[str]:
    """Regions named by an Accept-Language header, in its order of preference
    ("zh-CN,zh;q=0.9,en-GB;q=0.8" → CN, GB; "zh-Hant" → TW)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _sep, params = part.strip().partition(";")
        match = _TAG.match(tag.strip())
        if not match:
            continue
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        language, script, region = match.groups()
        code = (region or "").upper() or _LANGUAGE_REGION.get(
            f"{language}-{script}".lower() if script else "", "")
        if code:
            weighted.append((-weight, index, code))
    return [code for *_, code in sorted(weighted)]


def _region_of_time_zone(zone: str) -> str:
    return str(get_global("zone_territories").get(zone or "", ""))


def _region_of_number(e164: str, likely: Sequence[str] = ()) -> str:
    """The country of a stored number, as the selector shows it: a likely country sharing its
    calling code (Canada for a Canadian's +1), else the code's main country (+44 → GB)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    code = number.country_code or 0
    return next((r for r in likely if phonenumbers.country_code_for_region(r) == code),
                phonenumbers.region_code_for_country_code(code))


def likely_regions(request: Any = None) -> list[str]:
    """The visitor's likely countries, most likely first, then the popular ones."""
    request = request if request is not None else context.request
    found: list[str] = []
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False) and user.phone:
        found.append(_region_of_number(user.phone))
    if request is not None:
        found += _regions_of_accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
        if user is not None and getattr(user, "is_authenticated", False):
            found.append(_region_of_time_zone(getattr(user, "time_zone", "")))
    language = (translation.get_language() or "").lower()
    if language.startswith("zh"):
        found.append("CN")
    found += POPULAR
    supported = phonenumbers.SUPPORTED_REGIONS
    return list(dict.fromkeys(r for r in found if r in supported))


def region_label(region: str) -> str:
    """"China +86" (in the active language: "中国 +86")."""
    return f"{country_name(region)} +{phonenumbers.country_code_for_region(region)}"


def example_number(region: str) -> str:
    """A mobile number of ``region`` as dialled there ("131 2345 6789" in CN)."""
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if number is None:
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def national(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


class CountrySelect(forms.Select):
    """The country list: likely countries first, then every other one by name; each option
    carries its example number (``data-example``) for the placeholder."""

    def create_option(self, name: str, value: Any, label: Any, selected: Any, index: int,
                      subindex: int | None = None, attrs: dict[str, Any] | None = None,
                      ) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value:
            option["attrs"]["data-example"] = example_number(str(value))
        return option


def region_choices(likely: Iterable[str]) -> list[tuple[str, Any]]:
    first = list(likely)
    others = sorted((r for r in phonenumbers.SUPPORTED_REGIONS if r not in first),
                    key=lambda r: country_name(r).casefold())
    return [(str(_("Suggested")), [(r, region_label(r)) for r in first]),
            (str(_("All countries and regions")), [(r, region_label(r)) for r in others])]


class PhoneInput(forms.MultiWidget):
    """A country selector (``<name>_0``) and the number (``<name>_1``)."""

    template_name = "accounts/widgets/phone.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        number = {"type": "tel", "autocomplete": "tel-national", "inputmode": "tel",
                  "class": "phone-number"}
        super().__init__([CountrySelect(attrs={"class": "phone-country",
                                               "autocomplete": "tel-country-code"}),
                          forms.TextInput(attrs=number)], attrs)

    def decompress(self, value: Any) -> list[str]:
        if not value:
            return ["", ""]
        text = str(value)
        if text.startswith("+"):
            region = _region_of_number(text, likely_regions())
            return [region, national(text)]
        return ["", text]

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        """[country, number], or the plain value of a form that posts ``<name>`` alone."""
        if f"{name}_1" not in data and name in data:
            return data.get(name)
        return super().value_from_datadict(data, files, name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and super().value_omitted_from_data(data, files, name)

    def id_for_label(self, id_: str) -> str:
        """The label names the number; the selector has its own (``aria-label``)."""
        return f"{id_}_1" if id_ else id_

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        likely = likely_regions()
        country, number = self.widgets
        country.choices = region_choices(likely)  # type: ignore[attr-defined]
        country.attrs["aria-label"] = str(_("Country"))
        if not isinstance(value, list):
            value = self.decompress(value)
        region = value[0] if value and value[0] else likely[0]
        value = [region, value[1] if len(value) > 1 else ""]
        number.attrs["placeholder"] = example_number(region)
        return super().get_context(name, value, attrs)


class PhoneNumberField(forms.CharField):
    """A phone number in E.164, from a country and a number as dialled there, or a number
    given in full (see the module's text)."""

    widget = PhoneInput
    default_error_messages = {"invalid_phone": MESSAGES["invalid_phone"]}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Phone number"))
        kwargs.pop("max_length", None)
        kwargs.setdefault("help_text", _("Choose the country, then type the number as you "
                                         "dial it there, or type it in full with +."))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        if isinstance(value, (list, tuple)):
            region, number = [*value, "", ""][:2]
        else:
            region, number = "", value
        number = str(number or "").strip()
        if not number:
            return ""
        region = str(region or "")
        if region not in phonenumbers.SUPPORTED_REGIONS:
            region = likely_regions()[0]
        try:
            return parse_phone(number, region)
        except ValidationFailed as error:
            raise forms.ValidationError(self.error_messages["invalid_phone"],
                                        code="invalid_phone") from error
