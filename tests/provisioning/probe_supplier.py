"""A small supplier for tests of the go-live checks and of the console's supplier settings:
``ProbeSupplier`` reads its options when it is made (as every adapter does, made per call
by ``registry.get``) and its ``check_connection`` says which URL it reached, or raises what
the test sets in ``ProbeSupplier.fault``. Register it with the ``probe`` fixture."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from esimdesk import config
from esimdesk.config import Option
from esimdesk.provisioning import registry
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    PlanApplication,
    ProfileOrder,
    UpstreamProvider,
)


class ProbeSupplier(UpstreamProvider):
    name = "probe"
    label = "Probe Networks"
    options = (
        Option("ESIMDESK_PROBE_URL", "", "Probe API base URL.", console=True),
        Option("ESIMDESK_PROBE_TOKEN", "", "Probe API token.", secret=True, console=True),
        Option("ESIMDESK_PROBE_CA", "", "CA bundle (PEM text or a path).", console=True),
        Option("ESIMDESK_PROBE_REGION", "eu", "Probe region."),
    )
    #: what ``check_connection`` raises (None: it succeeds)
    fault: ClassVar[BaseException | None] = None

    def __init__(self) -> None:
        self.url = config.env("ESIMDESK_PROBE_URL")
        if not self.url:
            raise FinalUpstreamError("ESIMDESK_PROBE_URL is not set", code="probe_unset")

    def check_connection(self) -> str:
        if ProbeSupplier.fault is not None:
            raise ProbeSupplier.fault
        return f"reached {self.url}"

    def order_profile(self, *, reference: str, plan_code: str) -> ProfileOrder:
        raise FinalUpstreamError("a probe orders nothing", code="not_supported")

    def apply_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        raise FinalUpstreamError("a probe applies nothing", code="not_supported")


@pytest.fixture
def probe(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[ProbeSupplier]]:
    """``probe`` registered and configured after the simulator, its URL in the
    environment."""
    registry.register("probe", "tests.provisioning.probe_supplier.ProbeSupplier")
    monkeypatch.setenv("ESIMDESK_PROBE_URL", "https://probe.example.test")
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["simulator", "probe"]}
    ProbeSupplier.fault = None
    yield ProbeSupplier
    ProbeSupplier.fault = None
    registry.PROVIDERS.pop("probe", None)
    registry.provider_class.cache_clear()
    config.forget_declared()
