"""Every outbound supplier call is recorded with its outcome and time, and kept 35 days."""

from __future__ import annotations

import datetime as dt

import pytest

from esimdesk.core import clock
from esimdesk.provisioning import calls
from esimdesk.provisioning.models import SupplierCall
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    RetryableUpstreamError,
    UpstreamError,
)
from tests.builders import RefusingSupplier

NOW = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


def test_outcomes_tell_failures_from_answers() -> None:
    assert calls.outcome_of(RetryableUpstreamError("timeout")) == "retryable"
    assert calls.outcome_of(FinalUpstreamError("no", code="out_of_stock")) == "refused"
    assert calls.outcome_of(FinalUpstreamError("no", code="not_supported")) == "not_supported"
    assert calls.outcome_of(UpstreamError("odd")) == "refused"
    assert calls.outcome_of(ConnectionResetError()) == "error"


def test_a_recorded_adapter_leaves_a_row_per_call(db: None) -> None:
    clock.set_now(NOW)
    supplier = calls.recorded(RefusingSupplier())
    with pytest.raises(FinalUpstreamError):
        supplier.order_profile(reference="r1", plan_code="P")
    with pytest.raises(FinalUpstreamError):
        supplier.suspend(reference="r2", iccid="8999")  # the contract's default refusal
    assert list(SupplierCall.objects.order_by("pk").values_list(
        "at", "supplier", "operation", "outcome")) == [
        (NOW, "refusing", "order_profile", "refused"),
        (NOW, "refusing", "suspend", "not_supported")]


def test_calls_older_than_the_retention_are_forgotten(db: None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SUPPLIER_CALLS_KEEP_DAYS", "35")
    for days in (36, 34):
        SupplierCall.objects.create(at=NOW - dt.timedelta(days=days), supplier="simulator",
                                    operation="order_profile", outcome="ok", duration_ms=5)
    assert calls.forget_old_calls(now=NOW) == {"deleted": 1}
    assert SupplierCall.objects.get().at == NOW - dt.timedelta(days=34)
