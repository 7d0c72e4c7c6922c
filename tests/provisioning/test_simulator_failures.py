"""The simulator's network manners: latency (injected, never slept in a test), errors
before the work, timeouts after it, and the configuration that sets them."""

from __future__ import annotations

import random
from typing import Any

import pytest

from esimdesk import config
from esimdesk.core.ids import is_valid_iccid
from esimdesk.provisioning.suppliers.base import FinalUpstreamError, RetryableUpstreamError
from esimdesk.sandbox.models import SimulatedAction, SimulatedProfile
from esimdesk.sandbox.simulator import SimulatorProvider
from tests.builders import DAY

pytestmark = pytest.mark.django_db


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Draws(random.Random):
    """A random source that answers the given values in turn."""

    def __init__(self, *values: float) -> None:
        super().__init__()
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


def test_profiles_have_luhn_iccids_in_the_range_and_codes_on_the_simulator_host(
        settings: Any) -> None:
    order = SimulatorProvider().order_profile(reference="r-1", plan_code=DAY)
    assert is_valid_iccid(order.iccid) and len(order.iccid) == 19
    assert order.iccid.startswith(config.env("ESIMDESK_SIMULATOR_ICCID_PREFIX"))
    assert order.smdp_address == config.env("ESIMDESK_SIMULATOR_SMDP_HOST")


def test_latency_is_added_to_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SIMULATOR_LATENCY_MS", "250")
    sleeps = Sleeps()
    simulator = SimulatorProvider(sleep=sleeps)
    order = simulator.order_profile(reference="r-1", plan_code=DAY)
    simulator.apply_plan(reference="a-1", iccid=order.iccid, plan_code=DAY)
    simulator.suspend(reference="s-1", iccid=order.iccid)
    assert sleeps == [0.25, 0.25, 0.25]


def test_no_latency_by_default() -> None:
    sleeps = Sleeps()
    SimulatorProvider(sleep=sleeps).order_profile(reference="r-1", plan_code=DAY)
    assert sleeps == []


def test_a_call_slower_than_the_timeout_does_the_work_and_loses_the_answer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SIMULATOR_LATENCY_MS", "5000")
    monkeypatch.setenv("ESIMDESK_SIMULATOR_TIMEOUT_MS", "200")
    sleeps = Sleeps()
    with pytest.raises(RetryableUpstreamError) as lost:
        SimulatorProvider(sleep=sleeps).order_profile(reference="r-1", plan_code=DAY)
    assert lost.value.code == "simulated_timeout" and lost.value.retryable
    assert sleeps == [0.2]  # the caller gave up at its timeout
    profile = SimulatedProfile.objects.get()
    monkeypatch.setenv("ESIMDESK_SIMULATOR_LATENCY_MS", "0")
    again = SimulatorProvider().order_profile(reference="r-1", plan_code=DAY)
    assert again.iccid == profile.iccid and SimulatedProfile.objects.count() == 1


def test_an_error_happens_before_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SIMULATOR_ERROR_RATE", "1")
    with pytest.raises(RetryableUpstreamError) as failed:
        SimulatorProvider().order_profile(reference="r-1", plan_code=DAY)
    assert failed.value.code == "simulated_error"
    assert not SimulatedProfile.objects.exists()


def test_a_timeout_happens_after_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SIMULATOR_TIMEOUT_RATE", "1")
    with pytest.raises(RetryableUpstreamError) as lost:
        SimulatorProvider().order_profile(reference="r-1", plan_code=DAY)
    assert lost.value.code == "simulated_timeout"
    assert SimulatedProfile.objects.count() == 1
    order = SimulatedProfile.objects.get()
    with pytest.raises(RetryableUpstreamError):
        SimulatorProvider().suspend(reference="s-1", iccid=str(order.iccid))
    # The suspension went through; its answer was lost. The retry finds it done.
    assert SimulatedProfile.objects.get().suspended
    assert SimulatedAction.objects.filter(reference="s-1").count() == 1


def test_failure_draws_come_from_the_injected_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SIMULATOR_ERROR_RATE", "0.3")
    monkeypatch.setenv("ESIMDESK_SIMULATOR_TIMEOUT_RATE", "0.3")
    # error draw 0.9 (no error), timeout draw 0.1 (lost), then 0.2 (error), then clean.
    simulator = SimulatorProvider(rng=Draws(0.9, 0.1, 0.2, 0.5, 0.5))
    with pytest.raises(RetryableUpstreamError) as first:
        simulator.order_profile(reference="r-1", plan_code=DAY)
    with pytest.raises(RetryableUpstreamError) as second:
        simulator.order_profile(reference="r-1", plan_code=DAY)
    third = simulator.order_profile(reference="r-1", plan_code=DAY)
    assert (first.value.code, second.value.code) == ("simulated_timeout", "simulated_error")
    assert third.iccid == SimulatedProfile.objects.get().iccid


def test_the_older_failure_rate_splits_into_errors_and_timeouts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_SIMULATOR_FAILURE_RATE", "0.5")
    monkeypatch.setenv("ESIMDESK_SIMULATOR_ERROR_RATE", "0.1")
    simulator = SimulatorProvider()
    assert (simulator.error_rate, simulator.timeout_rate) == (pytest.approx(0.35), 0.25)


@pytest.mark.parametrize(("name", "value"), [
    ("ESIMDESK_SIMULATOR_ERROR_RATE", "1.5"), ("ESIMDESK_SIMULATOR_TIMEOUT_RATE", "often"),
    ("ESIMDESK_SIMULATOR_LATENCY_MS", "-5"), ("ESIMDESK_SIMULATOR_TIMEOUT_MS", "1s")])
def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch, name: str,
                                  value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(FinalUpstreamError) as refused:
        SimulatorProvider()
    assert refused.value.code == "simulator_misconfigured"
