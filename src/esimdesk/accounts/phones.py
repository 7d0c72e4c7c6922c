"""Phone numbers: parsed with libphonenumber, stored in E.164.

A number is accepted when libphonenumber knows it valid, or finds it the length of a mobile
number of its country (codes go by SMS): newly opened ranges, and numbers such as the UK's
07700 900xxx, are then not refused, and a local fixed-line fragment still is."""

from __future__ import annotations

import phonenumbers

from esimdesk.core.errors import ValidationFailed

_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE


def parse_phone(raw: str, region: str | None = None) -> str:
    """E.164 form of ``raw``: in full with ``+`` (or ``00``) and the country code, or as
    dialled at home in ``region`` (``139 1234 5678`` in CN); else ``invalid_phone``."""
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else (region or None))
    except phonenumbers.NumberParseException as error:
        raise ValidationFailed(code="invalid_phone", detail={"phone": raw}) from error
    mobile = phonenumbers.is_possible_number_for_type_with_reason(
        number, phonenumbers.PhoneNumberType.MOBILE)
    if not phonenumbers.is_valid_number(number) and mobile != _POSSIBLE:
        raise ValidationFailed(code="invalid_phone", detail={"phone": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw: str) -> str:
    """E.164 form of ``raw`` (which must carry its country code), or ``invalid_phone``."""
    return parse_phone(raw, None)
