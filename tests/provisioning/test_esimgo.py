"""The eSIM Go adapter against a local fake of its API: ordering exactly once whatever the
answer (timeouts, 5xx, garbage), typed errors and misconfigurations, unknown bundles, the
plan's bundle on the wire, the connection check and revoking. Callbacks: test_esimgo_callbacks."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.catalog.bundles import suppliers_for
from esimdesk.core import clock
from esimdesk.core.ids import is_valid_iccid
from esimdesk.core.models import AuditEntry
from esimdesk.orders import services as orders
from esimdesk.orders.models import OrderLine
from esimdesk.payments import checkout
from esimdesk.payments import services as payments
from esimdesk.provisioning.models import EsimGoOrder, SupplierAction
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    RetryableUpstreamError,
    UpstreamError,
)
from esimdesk.provisioning.suppliers.esimgo import adapter as esimgo
from esimdesk.provisioning.suppliers.esimgo import ordering
from esimdesk.provisioning.suppliers.esimgo.checks import esimgo_configuration
from esimdesk.sandbox.models import SimulatedProfile
from tests import builders
from tests.provisioning.fake_esimgo import API_KEY, FakeEsimGo, running

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
# A plan code in the shape the adapter names a bundle after (``bundle_for``).
PLAN_CODE = "jp-20gb-month"
BUNDLE = "esim_20GB_30D_JP_V2"
State = EsimGoOrder.State


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEsimGo]:
    server = FakeEsimGo()
    server.hang_seconds = 2
    with running(server) as base:
        monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", API_KEY)
        monkeypatch.setenv("ESIMDESK_ESIMGO_API_BASE", base)
        monkeypatch.setenv("ESIMDESK_ESIMGO_TIMEOUT_SECONDS", "0.5")
        yield server


def posts(fake: FakeEsimGo) -> int:
    return fake.requests.count(("POST", "/v2.5/orders"))


def searches(fake: FakeEsimGo) -> int:
    return fake.requests.count(("GET", "/v2.5/orders"))


def row(reference: str) -> EsimGoOrder:
    return EsimGoOrder.objects.get(reference=reference)


def provider() -> esimgo.EsimGoProvider:
    return esimgo.EsimGoProvider()


def test_bundle_names() -> None:
    assert esimgo.bundle_for(PLAN_CODE) == BUNDLE
    assert esimgo.bundle_for("eu-1gb-day") == "esim_1GB_1D_EU_V2"
    # A supplier bundle that is a catalogue name goes on the wire as it is, case kept.
    assert esimgo.bundle_for("esim_1GB_7D_NL_V2") == "esim_1GB_7D_NL_V2"
    assert esimgo.bundle_for("A_BUNDLE_1GB") == "A_BUNDLE_1GB"
    for nonsense in ("weird plan", "eu-unlimited-week", "", "esim_1GB/../x"):
        with pytest.raises(FinalUpstreamError) as refused:
            esimgo.bundle_for(nonsense)
        assert refused.value.code == "esimgo_no_bundle"


# -- ordering once ------------------------------------------------------------------------

def test_order_new_esim_is_idempotent(fake: FakeEsimGo) -> None:
    first = provider().order_profile(reference="ord-1", plan_code=PLAN_CODE)
    assert is_valid_iccid(first.iccid)
    assert first.smdp_address == "rsp.esim-go.example"
    assert first.upstream_reference == "ord-0001"
    assert fake.bodies == [{"type": "transaction", "assign": True, "order": [
        {"type": "bundle", "quantity": 1, "item": BUNDLE, "allowReassign": False}]}]
    # The install data came with the order's answer: no assignment read was needed.
    assert ("GET", "/v2.5/esims/assignments") not in fake.requests
    again = provider().order_profile(reference="ord-1", plan_code=PLAN_CODE)
    assert again == first and posts(fake) == 1
    assert row("ord-1").state == State.READY


def test_an_asynchronous_order_is_read_from_its_assignments(fake: FakeEsimGo) -> None:
    fake.include_esims, fake.pending_assignments = False, 1
    with pytest.raises(RetryableUpstreamError) as pending:
        provider().order_profile(reference="ord-a", plan_code=PLAN_CODE)
    assert pending.value.code == "esimgo_pending" and row("ord-a").state == State.ORDERED
    profile = provider().order_profile(reference="ord-a", plan_code=PLAN_CODE)
    assert profile.iccid in fake.esims and posts(fake) == 1


@pytest.mark.parametrize("lost", ["commit_then_hang", "commit_then_garbage", "commit_then_500",
                                  "commit_then_noref"])
def test_an_order_whose_answer_is_lost_is_recovered_not_bought_again(
        fake: FakeEsimGo, lost: str) -> None:
    fake.fail = [lost]
    with pytest.raises(RetryableUpstreamError) as unknown:
        provider().order_profile(reference="ord-2", plan_code=PLAN_CODE)
    assert unknown.value.code == "esimgo_outcome_unknown"
    assert "\n" not in str(unknown.value)
    assert len(fake.orders) == 1  # eSIM Go did create it
    assert row("ord-2").state == State.UNKNOWN  # possibly allocated: staff can see it
    assert AuditEntry.objects.filter(action="esimgo.order_outcome_unknown").count() == 1
    profile = provider().order_profile(reference="ord-2", plan_code=PLAN_CODE)
    assert len(fake.orders) == 1 and posts(fake) == 1
    assert profile.upstream_reference == fake.orders[0]["orderReference"]
    assert profile.iccid in fake.esims and row("ord-2").state == State.READY
    assert AuditEntry.objects.filter(action="esimgo.order_recovered").count() == 1


def test_an_order_that_never_arrived_is_sent_again_only_once_it_cannot_exist(
        fake: FakeEsimGo) -> None:
    clock.set_now(START)
    fake.fail = ["hang"]  # no answer, and no order made either
    with pytest.raises(RetryableUpstreamError):
        provider().order_profile(reference="ord-3", plan_code=PLAN_CODE)
    # Too early to tell a missing order from a slow one: look, but do not buy.
    with pytest.raises(RetryableUpstreamError) as early:
        provider().order_profile(reference="ord-3", plan_code=PLAN_CODE)
    assert early.value.code == "esimgo_outcome_unknown" and posts(fake) == 1
    clock.set_now(START + ordering.SETTLE + dt.timedelta(seconds=1))
    profile = provider().order_profile(reference="ord-3", plan_code=PLAN_CODE)
    assert len(fake.orders) == 1 and posts(fake) == 2 and searches(fake) == 2
    assert profile.iccid in fake.esims


def test_recovery_reads_every_page_and_skips_orders_others_hold(fake: FakeEsimGo) -> None:
    for _ in range(ordering.PAGE_SIZE + 20):  # older orders of another bundle
        fake.order({"order": [{"item": "esim_1GB_1D_FR_V2"}]})
    taken = provider().order_profile(reference="ord-held", plan_code=PLAN_CODE)
    fake.fail = ["commit_then_hang"]
    with pytest.raises(RetryableUpstreamError):
        provider().order_profile(reference="ord-4", plan_code=PLAN_CODE)
    profile = provider().order_profile(reference="ord-4", plan_code=PLAN_CODE)
    assert profile.upstream_reference == fake.orders[-1]["orderReference"]
    assert profile.upstream_reference != taken.upstream_reference
    assert posts(fake) == 2 and searches(fake) == 2  # two pages of 100


@pytest.mark.parametrize("status", [429])
def test_a_request_refused_before_it_counted_is_simply_sent_again(
        fake: FakeEsimGo, status: int) -> None:
    fake.fail = [status]
    with pytest.raises(RetryableUpstreamError) as limited:
        provider().order_profile(reference="ord-5", plan_code=PLAN_CODE)
    assert limited.value.code == "esimgo_rate_limited" and row("ord-5").state == State.NEW
    provider().order_profile(reference="ord-5", plan_code=PLAN_CODE)
    assert searches(fake) == 0 and len(fake.orders) == 1


def test_apply_plan_to_existing_esim(fake: FakeEsimGo) -> None:
    profile = provider().order_profile(reference="ord-6", plan_code=PLAN_CODE)
    applied = provider().apply_plan(reference="renew-6", iccid=profile.iccid,
                                    plan_code=PLAN_CODE)
    assert applied.iccid == profile.iccid and applied.upstream_reference == "ord-0002"
    provider().apply_plan(reference="renew-6", iccid=profile.iccid, plan_code=PLAN_CODE)
    assert len(fake.orders) == 2 and len(fake.esims[profile.iccid]["bundles"]) == 2
    assert fake.bodies[1]["order"][0]["iccids"] == [profile.iccid]
    # timed out after eSIM Go applied it: the retry finds that order, on that eSIM
    fake.fail = ["commit_then_hang"]
    with pytest.raises(RetryableUpstreamError):
        provider().apply_plan(reference="renew-7", iccid=profile.iccid, plan_code=PLAN_CODE)
    provider().apply_plan(reference="renew-7", iccid=profile.iccid, plan_code=PLAN_CODE)
    assert len(fake.orders) == 3 and row("renew-7").order_reference == "ord-0003"
    fake.esims[profile.iccid]["bundles"][0]["remainingQuantity"] = 400_000_000
    assert provider().balance(profile.iccid) == 600_000_000


def test_a_reference_is_one_request(fake: FakeEsimGo) -> None:
    provider().order_profile(reference="ord-8", plan_code=PLAN_CODE)
    with pytest.raises(FinalUpstreamError) as reused:
        provider().order_profile(reference="ord-8", plan_code="esim_1GB_7D_NL_V2")
    assert reused.value.code == "esimgo_reference_reused"


def test_missing_luhn_digit_is_added_and_audited(fake: FakeEsimGo) -> None:
    fake.luhn = False
    profile = provider().order_profile(reference="ord-9", plan_code=PLAN_CODE)
    assert len(profile.iccid) == 19 and is_valid_iccid(profile.iccid)
    entry = AuditEntry.objects.get(action="esimgo.iccid_normalised",
                                   object_id=str(row("ord-9").pk))
    assert entry.after == {"iccid": profile.iccid}


# -- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "error", "code"), [
    (500, RetryableUpstreamError, "esimgo_outcome_unknown"),
    (503, RetryableUpstreamError, "esimgo_outcome_unknown"),
    (429, RetryableUpstreamError, "esimgo_rate_limited"),
    ("hang", RetryableUpstreamError, "esimgo_outcome_unknown"),
    ("garbage", RetryableUpstreamError, "esimgo_outcome_unknown"),
    (400, FinalUpstreamError, "esimgo_refused"),
    (403, FinalUpstreamError, "esimgo_refused"),
    ("html404", FinalUpstreamError, "esimgo_misconfigured"),
    (404, FinalUpstreamError, "esimgo_misconfigured"),
    ("redirect", FinalUpstreamError, "esimgo_misconfigured")])
def test_errors_are_typed_and_one_line(fake: FakeEsimGo, mode: Any, error: type[Exception],
                                       code: str) -> None:
    fake.fail = [mode]
    with pytest.raises(error) as raised:
        provider().order_profile(reference=f"ord-e-{mode}", plan_code=PLAN_CODE)
    assert isinstance(raised.value, UpstreamError) and raised.value.code == code
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 400
    if mode == 400:
        assert "fake error 400" in str(raised.value)
        assert row("ord-e-400").state == State.REFUSED


def test_an_unknown_bundle_is_its_own_final_code(fake: FakeEsimGo) -> None:
    fake.catalogue = {BUNDLE}
    with pytest.raises(FinalUpstreamError) as unknown:
        provider().order_profile(reference="ord-u", plan_code="esim_1GB_7D_XX_V2")
    assert unknown.value.code == "esimgo_unknown_bundle"
    assert "esim_1GB_7D_XX_V2" in str(unknown.value) and not fake.orders
    assert row("ord-u").state == State.REFUSED


def test_unknown_iccid_and_bad_key_are_final(fake: FakeEsimGo,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FinalUpstreamError, match="not found"):
        provider().apply_plan(reference="x", iccid="8944000000000099999", plan_code=PLAN_CODE)
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", "wrong")
    with pytest.raises(FinalUpstreamError, match="Invalid API key") as refused:
        provider().order_profile(reference="y", plan_code=PLAN_CODE)
    assert refused.value.code == "esimgo_misconfigured"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(("name", "value"), [
    ("ESIMDESK_ESIMGO_API_KEY", ""),
    ("ESIMDESK_ESIMGO_API_BASE", "ftp://api.esim-go.com/v2.5"),
    ("ESIMDESK_ESIMGO_API_BASE", "api.esim-go.com/v2.5"),
    ("ESIMDESK_ESIMGO_API_BASE", "https://"),
    ("ESIMDESK_ESIMGO_TIMEOUT_SECONDS", "soon"),
    ("ESIMDESK_ESIMGO_TIMEOUT_SECONDS", "0")])
def test_a_misconfiguration_is_one_clear_final_line(fake: FakeEsimGo, name: str, value: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)
    for call in (lambda: provider().order_profile(reference="m-1", plan_code=PLAN_CODE),
                 provider().check_connection):
        with pytest.raises(FinalUpstreamError) as wrong:
            call()
        assert wrong.value.code == "esimgo_misconfigured" and name in str(wrong.value)
        assert "\n" not in str(wrong.value)
    assert not fake.requests
    assert EsimGoOrder.objects.get().state == State.NEW  # nothing was sent


def test_tls_and_closed_ports_are_typed(fake: FakeEsimGo,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    base = provider().client.base
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_BASE", base.replace("http://", "https://"))
    with pytest.raises(FinalUpstreamError) as tls:  # the fake speaks plain HTTP
        provider().check_connection()
    assert tls.value.code == "esimgo_tls"
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_BASE", f"http://127.0.0.1:{_closed_port()}/v2.5")
    with pytest.raises(RetryableUpstreamError) as closed:
        provider().order_profile(reference="c-1", plan_code=PLAN_CODE)
    assert closed.value.code == "esimgo_unreachable"
    assert row("c-1").state == State.NEW  # nothing left the machine: not possibly allocated


# -- the connection check -----------------------------------------------------------------

def test_check_connection_names_the_account(fake: FakeEsimGo) -> None:
    line = provider().check_connection()
    assert "Fake Travel Ltd" in line and "1234.5 GBP" in line and API_KEY not in line
    assert fake.requests == [("GET", "/v2.5/organisation")]


@pytest.mark.parametrize(("mode", "code", "words"), [
    (403, "esimgo_misconfigured", "allow-list"),
    ("html404", "esimgo_misconfigured", "ESIMDESK_ESIMGO_API_BASE"),
    (404, "esimgo_misconfigured", "ESIMDESK_ESIMGO_API_BASE"),
    ("redirect", "esimgo_misconfigured", "https://"),
    ("hang", "esimgo_timeout", "0.5 s"),
    (500, "esimgo_down", "500"),
    ("garbage", "esimgo_bad_response", "no JSON")])
def test_check_connection_says_what_is_wrong(fake: FakeEsimGo, mode: Any, code: str,
                                             words: str) -> None:
    fake.fail = [mode]
    with pytest.raises(UpstreamError) as wrong:
        provider().check_connection()
    assert wrong.value.code == code and words in str(wrong.value)
    assert "\n" not in str(wrong.value)


def test_check_connection_with_a_wrong_key(fake: FakeEsimGo,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", "wrong")
    with pytest.raises(FinalUpstreamError, match="refused the API key") as wrong:
        provider().check_connection()
    assert wrong.value.code == "esimgo_misconfigured"


# -- revoking -----------------------------------------------------------------------------

def test_revoking_an_uninstalled_esim_takes_its_bundle_and_returns_it(fake: FakeEsimGo) -> None:
    iccid = provider().order_profile(reference="ord-r", plan_code=PLAN_CODE).iccid
    provider().revoke(reference="rev-1", iccid=iccid)
    esim = fake.esims[iccid]
    assert esim["suspended"] and esim["bundles"] == [] and esim["returned"]
    assert fake.deletes[0][1] == {"type": "transaction", "refundToBalance": "true"}
    assert SupplierAction.objects.get(reference="rev-1").done_at is not None
    sent = len(fake.requests)
    provider().revoke(reference="rev-1", iccid=iccid)
    provider().revoke(reference="rev-2", iccid=iccid)  # revoking a revoked eSIM succeeds
    assert len(fake.requests) > sent
    with pytest.raises(FinalUpstreamError) as revoked:
        provider().resume(reference="res-1", iccid=iccid)
    assert revoked.value.code == "profile_revoked"


def test_revoking_an_installed_esim_takes_every_bundle(fake: FakeEsimGo) -> None:
    iccid = provider().order_profile(reference="ord-i", plan_code=PLAN_CODE).iccid
    provider().apply_plan(reference="renew-i", iccid=iccid, plan_code=PLAN_CODE)
    fake.esims[iccid]["installed"] = True
    fake.refund_refused = True  # started or not refundable: revoked without a refund
    provider().revoke(reference="rev-i", iccid=iccid)
    esim = fake.esims[iccid]
    assert esim["bundles"] == [] and esim["suspended"] and not esim["returned"]
    assert [q for _, q in fake.deletes].count({"type": "transaction"}) == 2


def test_a_revoke_that_may_have_left_a_bundle_is_not_reported_done(fake: FakeEsimGo) -> None:
    iccid = provider().order_profile(reference="ord-f", plan_code=PLAN_CODE).iccid
    fake.fail = ["ok", "ok", 500]  # suspend, list, then the revoke fails
    with pytest.raises(UpstreamError):
        provider().revoke(reference="rev-f", iccid=iccid)
    assert SupplierAction.objects.get(reference="rev-f").done_at is None
    assert fake.esims[iccid]["bundles"]  # still there, and esimdesk knows it
    provider().revoke(reference="rev-f", iccid=iccid)  # the retry finishes it
    assert not fake.esims[iccid]["bundles"]
    assert SupplierAction.objects.get(reference="rev-f").done_at is not None


def test_revoking_an_esim_this_account_never_had_is_refused(fake: FakeEsimGo) -> None:
    with pytest.raises(FinalUpstreamError) as unknown:
        provider().revoke(reference="rev-x", iccid="8944000000000099999")
    assert unknown.value.code == "esimgo_refused"
    assert SupplierAction.objects.get(reference="rev-x").done_at is None


# -- through fulfilment: the plan's bundle, failover, a lost answer ---------------------------

@pytest.fixture
def thai(settings: Any) -> Any:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["esimgo", "simulator"]}
    plan = builders.plan(countries=("TH",), unit="month", data_gb=10, usd=1299)
    builders.bundle(plan, "esimgo", code="esim_10GB_30D_TH_V2", priority=1)
    builders.bundle(plan, "simulator", code="SIM-TH-10", priority=2)
    return plan


def _paid(plan: Any) -> int:
    buyer = User.objects.create_user("go@example.com", "x-long-password-1")
    payment = checkout.place_order(user=buyer, currency="USD", method="sandbox", lines=[
        orders.LineRequest(plan=plan.code, type="new_esim")]).payment
    assert payment is not None
    payments.complete_sandbox_payment(user=buyer, payment_id=payment.public_id,
                                      outcome="approve")
    return payment.order_id


def test_the_plans_bundle_reaches_the_wire(fake: FakeEsimGo, thai: Any) -> None:
    assert suppliers_for(thai)[0].code == "esim_10GB_30D_TH_V2"
    assert orders.fulfil_order(order_id=_paid(thai)) == "fulfilled"
    assert fake.bodies[0]["order"][0]["item"] == "esim_10GB_30D_TH_V2"
    line = OrderLine.objects.get()
    assert line.esim is not None and line.esim.upstream == "esimgo"


def test_an_unknown_bundle_fails_over_to_the_next_supplier(fake: FakeEsimGo, thai: Any) -> None:
    fake.catalogue = set()
    assert orders.fulfil_order(order_id=_paid(thai)) == "fulfilled"
    assert SimulatedProfile.objects.get().plan_code == "SIM-TH-10" and not fake.orders
    failover = AuditEntry.objects.get(action="activation.failover")
    assert "esim_10GB_30D_TH_V2" in failover.reason


def test_a_lost_answer_during_fulfilment_ends_with_one_esim(fake: FakeEsimGo, thai: Any) -> None:
    order_id = _paid(thai)
    fake.fail = ["commit_then_hang"]
    assert orders.fulfil_order(order_id=order_id) == "retrying"
    assert orders.fulfil_order(order_id=order_id, attempt=2) == "fulfilled"
    assert len(fake.orders) == 1 and not SimulatedProfile.objects.exists()
    assert OrderLine.objects.get().esim.iccid in fake.esims  # type: ignore[union-attr]


def test_giving_up_on_a_lost_order_leaves_it_possibly_allocated_for_staff(
        fake: FakeEsimGo, thai: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ACTIVATION_ATTEMPTS", "2")
    order_id = _paid(thai)
    fake.fail = ["commit_then_hang", "hang"]  # the order is made; the search gets no answer
    assert orders.fulfil_order(order_id=order_id) == "retrying"
    assert orders.fulfil_order(order_id=order_id, attempt=2) == "fulfilled"  # next supplier
    assert SimulatedProfile.objects.count() == 1 and len(fake.orders) == 1
    lost = EsimGoOrder.objects.get()
    assert lost.state == State.UNKNOWN and lost.get_state_display() == "possibly allocated"
    assert AuditEntry.objects.filter(action="esimgo.order_outcome_unknown",
                                     object_id=str(lost.pk)).exists()


def test_two_workers_on_one_reference_send_one_order(fake: FakeEsimGo) -> None:
    first, second = provider(), provider()
    mine = first.orders.row(reference="ord-w", kind="profile", plan_code=PLAN_CODE)
    theirs = second.orders.row(reference="ord-w", kind="profile", plan_code=PLAN_CODE)
    first.orders.ensure_ordered(mine)
    with pytest.raises(RetryableUpstreamError) as busy:
        second.orders.ensure_ordered(theirs)  # it read the row before the first one sent
    assert busy.value.code == "esimgo_outcome_unknown" and posts(fake) == 1
    assert second.order_profile(reference="ord-w", plan_code=PLAN_CODE).iccid in fake.esims
    assert posts(fake) == 1


def test_a_refused_suspension_does_not_stop_the_bundles_being_revoked(
        fake: FakeEsimGo) -> None:
    iccid = provider().order_profile(reference="ord-s", plan_code=PLAN_CODE).iccid
    fake.esims[iccid]["installed"] = True
    fake.fail = [400]  # eSIM Go will not suspend this eSIM
    provider().revoke(reference="rev-s", iccid=iccid)
    assert not fake.esims[iccid]["bundles"] and not fake.esims[iccid]["suspended"]
    assert SupplierAction.objects.get(reference="rev-s").outcome == \
        "revoked 1 bundles, not suspended"


def test_a_forbidden_esim_that_still_lists_bundles_is_not_called_returned(
        fake: FakeEsimGo) -> None:
    iccid = provider().order_profile(reference="ord-t", plan_code=PLAN_CODE).iccid
    fake.fail = [403]  # the suspension is forbidden, but the eSIM is still there
    with pytest.raises(FinalUpstreamError):
        provider().revoke(reference="rev-t", iccid=iccid)
    assert fake.esims[iccid]["bundles"] and not fake.esims[iccid]["returned"]
    assert SupplierAction.objects.get(reference="rev-t").done_at is None


def test_staff_mark_a_possibly_allocated_order_reconciled(fake: FakeEsimGo) -> None:
    fake.fail = ["commit_then_hang"]
    with pytest.raises(RetryableUpstreamError):
        provider().order_profile(reference="ord-p", plan_code=PLAN_CODE)
    ready = provider().order_profile(reference="ord-q", plan_code=PLAN_CODE)
    staff = Client()
    boss = User.objects.create_superuser("boss@example.com", "x-long-password-1")
    staff.force_login(boss)
    listed = staff.get("/staff/provisioning/esimgoorder/?state__exact=unknown")
    assert listed.status_code == 200 and "ord-p" in listed.content.decode()
    assert "ord-q" not in listed.content.decode()
    staff.post("/staff/provisioning/esimgoorder/", {
        "action": "mark_reconciled", "_selected_action": [row("ord-p").pk, row("ord-q").pk]})
    assert row("ord-p").state == State.RECONCILED
    assert row("ord-q").state == State.READY and ready.iccid  # only possibly allocated move
    entry = AuditEntry.objects.get(action="esimgo.order_reconciled")
    assert entry.actor_type == "staff" and str(boss.pk) in entry.actor


def test_esimdesk_check_finds_a_misconfiguration_before_any_order(
        settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert esimgo_configuration() == []  # not a configured supplier: nothing to say
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["esimgo"]}
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", "")
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_BASE", "api.esim-go.com")
    monkeypatch.setenv("ESIMDESK_ESIMGO_TIMEOUT_SECONDS", "soon")
    found = esimgo_configuration()
    assert [m.id for m in found] == ["esimdesk.E131"] * 3
    assert all(m.is_serious() and "\n" not in m.msg for m in found)
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_KEY", "k")
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_BASE", "http://api.esim-go.com/v2.5")
    monkeypatch.setenv("ESIMDESK_ESIMGO_TIMEOUT_SECONDS", "20")
    assert [m.id for m in esimgo_configuration()] == ["esimdesk.W132"]
    monkeypatch.setenv("ESIMDESK_ESIMGO_API_BASE", "https://api.esim-go.com/v2.5")
    assert esimgo_configuration() == []
