"""Everything a traveller needs to install an eSIM: QR code, manual fields, one-tap links."""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno

from esimdesk.esims.models import Esim


@dataclass(frozen=True)
class InstallData:
    activation_code: str
    smdp_address: str
    matching_id: str
    confirmation_code: str
    ios_url: str
    android_url: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def install_data(esim: Esim) -> InstallData:
    code = esim.activation
    return InstallData(activation_code=code.lpa, smdp_address=code.smdp_address,
                       matching_id=code.matching_id, confirmation_code=esim.confirmation_code,
                       ios_url=code.ios_install_url, android_url=code.android_install_url)


def qr_svg(esim: Esim, *, scale: int = 6) -> str:
    """SVG of the QR code carrying ``LPA:1$...`` (error correction M, quiet zone kept)."""
    buffer = io.BytesIO()
    segno.make(esim.activation.lpa, error="m", micro=False).save(
        buffer, kind="svg", scale=scale, xmldecl=False, svgns=True, title="eSIM QR code",
        omitsize=True, nl=False)
    return buffer.getvalue().decode()
