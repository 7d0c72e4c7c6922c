"""Phone numbers: parsed with libphonenumber, stored in E.164."""

from __future__ import annotations

import phonenumbers

from esimdesk.core.errors import ValidationFailed


def normalize_phone(raw: str) -> str:
    """E.164 form of ``raw`` (which must carry its country code), or ``invalid_phone``."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as error:
        raise ValidationFailed(code="invalid_phone", detail={"phone": raw}) from error
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValidationFailed(code="invalid_phone", detail={"phone": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
