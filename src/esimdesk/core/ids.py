"""eSIM identifiers: ICCID (Luhn), EID (ISO 7064 mod 97-10) and SGP.22 activation codes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from stdnum import luhn
from stdnum.iso7064 import mod_97_10

from esimdesk.core.errors import ValidationFailed

_FQDN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


def normalize_iccid(value: str) -> str:
    """Digits of a valid ICCID; strips spaces and the SGP.22 trailing ``F`` pad.

    Raises ``ValidationFailed(code="invalid_iccid")`` for anything else.
    """
    raw = (value or "").strip().replace(" ", "").upper()
    if raw.endswith("F") and len(raw) == 20:
        raw = raw[:-1]
    if not raw.isdigit() or len(raw) not in (19, 20) or not luhn.is_valid(raw):
        raise ValidationFailed(code="invalid_iccid", detail={"iccid": value})
    return raw


def is_valid_iccid(value: str) -> bool:
    try:
        normalize_iccid(value)
    except ValidationFailed:
        return False
    return True


def iccid_with_check_digit(body: str) -> str:
    """Append the Luhn check digit to an 18- or 19-digit ICCID body."""
    return body + luhn.calc_check_digit(body)


def normalize_eid(value: str) -> str:
    raw = (value or "").strip().replace(" ", "")
    if not raw.isdigit() or len(raw) != 32 or not mod_97_10.is_valid(raw):
        raise ValidationFailed(code="invalid_eid", detail={"eid": value})
    return raw


def eid_with_check_digits(body30: str) -> str:
    """Complete 30 leading digits into a valid EID (check = 98 - (n*100 mod 97))."""
    check = 98 - int(body30 + "00") % 97
    return f"{body30}{check:02d}"


@dataclass(frozen=True, slots=True)
class ActivationCode:
    """SGP.22 section 4.1: ``1$<SM-DP+ address>$<matching id>[$<OID>[$<flag>]]``."""

    smdp_address: str
    matching_id: str
    oid: str = ""
    confirmation_code_required: bool = False

    def __post_init__(self) -> None:
        if not _FQDN.match(self.smdp_address):
            raise ValidationFailed(code="invalid_smdp_address",
                                   detail={"smdp_address": self.smdp_address})
        for name in ("smdp_address", "matching_id", "oid"):
            if "$" in getattr(self, name):
                raise ValidationFailed(code="invalid_activation_code", detail={"field": name})
        if not self.matching_id:
            raise ValidationFailed(code="invalid_activation_code", detail={"field": "matching_id"})

    @property
    def body(self) -> str:
        parts = ["1", self.smdp_address, self.matching_id]
        if self.oid or self.confirmation_code_required:
            parts.append(self.oid)
        if self.confirmation_code_required:
            parts.append("1")
        return "$".join(parts)

    @property
    def lpa(self) -> str:
        """The string a QR code carries: ``LPA:1$...``."""
        return f"LPA:{self.body}"

    @property
    def ios_install_url(self) -> str:
        return ("https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="
                + quote(self.lpa, safe=""))

    @property
    def android_install_url(self) -> str:
        return ("https://esimsetup.android.com/esim_qrcode_provisioning?carddata="
                + quote(self.lpa, safe=""))

    @classmethod
    def parse(cls, text: str) -> ActivationCode:
        raw = (text or "").strip()
        if raw.upper().startswith("LPA:"):
            raw = raw[4:]
        parts = raw.split("$")
        if len(parts) < 3 or parts[0] != "1":
            raise ValidationFailed(code="invalid_activation_code", detail={"value": text})
        oid = parts[3] if len(parts) > 3 else ""
        flag = len(parts) > 4 and parts[4] == "1"
        return cls(parts[1], parts[2], oid, flag)
