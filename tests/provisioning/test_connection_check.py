"""The go-live check (``UpstreamProvider.check_connection``, ``provisioning.connection``):
each supplier's live handshake answers one line, and whatever goes wrong — a refused
handshake, an adapter that cannot be made, an unknown name, a fault of any kind — comes back
as a code and one line, never an exception."""

from __future__ import annotations

from typing import Any

import pytest

from esimdesk.core.models import AuditEntry
from esimdesk.provisioning import connection, registry
from esimdesk.provisioning.models import SupplierCall
from esimdesk.provisioning.suppliers.base import FinalUpstreamError, RetryableUpstreamError
from esimdesk.sandbox.simulator import SimulatorProvider
from tests import builders
from tests.builders import RefusingSupplier
from tests.provisioning.probe_supplier import ProbeSupplier, probe  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_the_contract_default_is_not_supported() -> None:
    with pytest.raises(FinalUpstreamError) as raised:
        RefusingSupplier().check_connection()
    assert raised.value.code == "not_supported"


def test_the_simulator_reads_its_books_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SIMULATOR_SMDP_HOST", "smdp.check.test")
    line = SimulatorProvider().check_connection()
    assert line == "books readable (0 profiles issued), activation codes on smdp.check.test"
    result = connection.check("simulator")
    assert result.ok and result.code == "" and result.label == "Upstream simulator"
    assert not SupplierCall.objects.exists()  # a check is not an order's supplier call


def test_a_simulator_rehearsing_an_outage_fails_its_check_as_a_supplier_would(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SIMULATOR_ERROR_RATE", "1")
    with pytest.raises(RetryableUpstreamError):
        SimulatorProvider().check_connection()
    result = connection.check("simulator")
    assert (result.ok, result.code, result.retryable) == (False, "simulated_error", True)
    assert result.detail == "simulated error (check_connection)"


def test_a_misconfigured_simulator_is_a_code_and_a_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SIMULATOR_ICCID_PREFIX", "89x")
    result = connection.check("simulator")
    assert (result.ok, result.code) == (False, "simulator_misconfigured")
    assert result.detail == "ESIMDESK_SIMULATOR_ICCID_PREFIX must be 2-9 digits"


def test_an_unknown_supplier_is_named(settings: Any) -> None:
    result = connection.check("es2plsu")
    assert (result.ok, result.code, result.label) == (False, "unknown_upstream", "es2plsu")


@pytest.mark.parametrize("fault", [
    OSError(2, "No such file or directory: '/etc/esim/ca.pem'"),
    ValueError("bad\nPEM\n\nblock"),
    KeyError("smdpAddress"),
    RecursionError(),
])
def test_any_exception_becomes_one_line(probe: type[ProbeSupplier],  # noqa: F811
                                        fault: BaseException) -> None:
    probe.fault = fault
    result = connection.check("probe")
    assert not result.ok and result.code == "unexpected_error"
    assert "\n" not in result.detail and result.detail.startswith(type(fault).__name__)


def test_a_refused_handshake_keeps_the_suppliers_code_and_a_long_answer_is_cut(
        probe: type[ProbeSupplier]) -> None:  # noqa: F811
    probe.fault = FinalUpstreamError("HTTP 404 <html>" + "x" * 1000, code="not_found")
    result = connection.check("probe")
    assert (result.ok, result.code, result.retryable) == (False, "not_found", False)
    assert len(result.detail) == connection.MAX_LINE and result.detail.endswith("…")


def test_every_configured_supplier_is_checked_in_failover_order(
        probe: type[ProbeSupplier], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    results = connection.check_configured()
    assert [(r.supplier, r.ok) for r in results] == [("simulator", True), ("probe", True)]
    assert results[1].detail == "reached https://probe.example.test"
    monkeypatch.delenv("ESIMDESK_PROBE_URL")  # the adapter refuses to be made
    failed = connection.check_configured()[1]
    assert (failed.ok, failed.code) == (False, "probe_unset")


def test_a_check_staff_asked_for_is_audited(probe: type[ProbeSupplier]) -> None:  # noqa: F811
    boss = builders.agent("boss@example.com")  # a superuser
    connection.record_check(result=connection.check("probe"), by=boss)
    entry = AuditEntry.objects.get(action="supplier.connection_checked")
    assert (entry.object_type, entry.object_id, entry.actor_type) == ("supplier", "probe",
                                                                      "staff")
    assert entry.after["ok"] is True and entry.after["supplier"] == "probe"
    assert registry.known("probe")
