from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn

from esimdesk.core.errors import ValidationFailed
from esimdesk.core.ids import (
    ActivationCode,
    eid_with_check_digits,
    iccid_with_check_digit,
    normalize_eid,
    normalize_iccid,
)

digits = st.text(alphabet="0123456789", min_size=18, max_size=19)


@given(digits)
def test_every_generated_iccid_is_valid_and_round_trips(body: str) -> None:
    iccid = iccid_with_check_digit(body)
    assert normalize_iccid(iccid) == iccid
    assert luhn.is_valid(iccid)


@given(digits.filter(lambda b: len(b) == 18))
def test_f_padded_19_digit_iccid_is_normalised(body: str) -> None:
    iccid = iccid_with_check_digit(body)
    assert normalize_iccid(iccid + "F") == iccid
    assert normalize_iccid(f" {iccid[:4]} {iccid[4:]}f ") == iccid


@given(digits)
def test_a_wrong_check_digit_is_refused(body: str) -> None:
    iccid = iccid_with_check_digit(body)
    wrong = iccid[:-1] + str((int(iccid[-1]) + 1) % 10)
    with pytest.raises(ValidationFailed) as error:
        normalize_iccid(wrong)
    assert error.value.code == "invalid_iccid"


@pytest.mark.parametrize("value", ["", "89", "8901234567890123456789", "89ABCDEFGHIJKLMNOPQ"])
def test_malformed_iccids(value: str) -> None:
    with pytest.raises(ValidationFailed):
        normalize_iccid(value)


@given(st.text(alphabet="0123456789", min_size=30, max_size=30))
def test_eid_check_digits(body: str) -> None:
    eid = eid_with_check_digits(body)
    assert int(eid) % 97 == 1
    assert normalize_eid(eid) == eid


def test_known_eid() -> None:
    # An EID from GSMA SGP.29 examples shape: valid when the number mod 97 is 1.
    eid = eid_with_check_digits("890490320000800000000000000012")
    assert normalize_eid(eid) == eid
    with pytest.raises(ValidationFailed):
        normalize_eid(eid[:-1] + ("0" if eid[-1] != "0" else "1"))


def test_activation_code_forms() -> None:
    code = ActivationCode("smdp.example.com", "ABC-123")
    assert code.lpa == "LPA:1$smdp.example.com$ABC-123"
    flagged = ActivationCode("smdp.example.com", "ABC-123", confirmation_code_required=True)
    assert flagged.body == "1$smdp.example.com$ABC-123$$1"
    assert ActivationCode.parse(flagged.lpa) == flagged
    assert ActivationCode.parse("1$smdp.example.com$ABC-123") == code
    assert "carddata=LPA%3A1%24smdp.example.com%24ABC-123" in code.ios_install_url


@pytest.mark.parametrize(("host", "matching"), [("not a host", "X"), ("smdp.example.com", ""),
                                                ("smdp.example.com", "A$B"), ("localhost", "X")])
def test_activation_code_refuses_bad_parts(host: str, matching: str) -> None:
    with pytest.raises(ValidationFailed):
        ActivationCode(host, matching)
