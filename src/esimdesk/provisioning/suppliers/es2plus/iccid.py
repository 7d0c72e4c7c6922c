"""ICCIDs as an SM-DP+ spells them, and as esimdesk stores them.

SGP.22 carries an ICCID as a string of 18 to 20 characters: 19 digits are often padded to 20
with a trailing ``F``. ITU-T E.118 numbers are 19 or 20 digits with their Luhn check digit;
an 18-digit ICCID is one whose check digit was left off (so osmocom pySim reads it, and
completes it before personalising the card). esimdesk stores the complete number, so the rest
of esimdesk (``core.ids.normalize_iccid``: 19 or 20 digits with a valid Luhn digit) is
unchanged, and keeps the SM-DP+'s spelling (``Es2Order.upstream_iccid``) for the wire.
"""

from __future__ import annotations

import logging

from esimdesk.core.ids import iccid_with_check_digit, normalize_iccid

logger = logging.getLogger(__name__)


def local_iccid(spelled: str) -> str:
    """esimdesk's ICCID for one the SM-DP+ spells ``spelled``; ``ValidationFailed``
    (``invalid_iccid``) for anything that is not an ICCID."""
    digits = (spelled or "").strip().replace(" ", "").upper().rstrip("F")
    if len(digits) == 18 and digits.isdigit():
        complete = iccid_with_check_digit(digits)
        logger.info("ES2+ ICCID %s has no check digit: stored as %s", spelled, complete)
        return complete
    return normalize_iccid(spelled)
