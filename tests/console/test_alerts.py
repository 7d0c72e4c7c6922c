"""Alerts: one per incident, told once to the operations mailbox, closed when it clears, a
new incident when it comes back; two sweeps at once never open the same incident twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from esimdesk.console.alerts import Incident, alerts_sweep, evaluate, open_incident
from esimdesk.console.models import Alert
from esimdesk.core import clock
from esimdesk.core.models import AuditEntry
from esimdesk.notifications.models import Notification
from esimdesk.orders.models import Order, OrderLine
from esimdesk.payments.models import RenewalAttempt
from esimdesk.provisioning.models import SupplierCall
from esimdesk.support.models import Conversation
from tests import builders
from tests.console.conftest import member

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def ops(monkeypatch: Any) -> str:
    clock.set_now(NOW)
    monkeypatch.setenv("ESIMDESK_OPS_EMAIL", "ops@example.com")
    return "ops@example.com"


def calls(supplier: str, *, ok: int, failed: int) -> None:
    SupplierCall.objects.bulk_create(
        [SupplierCall(at=clock.now() - dt.timedelta(minutes=5), supplier=supplier,
                      operation="order_profile", outcome="ok", duration_ms=100)] * ok
        + [SupplierCall(at=clock.now() - dt.timedelta(minutes=5), supplier=supplier,
                        operation="order_profile", outcome="retryable", duration_ms=900)] * failed)


def mails() -> list[str]:
    return list(Notification.objects.filter(to="ops@example.com", kind="ops_alert")
                .values_list("subject", flat=True))


def test_a_failing_supplier_opens_one_alert_told_once_closed_when_it_clears_reopened_anew(
        monkeypatch: Any) -> None:
    monkeypatch.setenv("ESIMDESK_ALERT_SUPPLIER_FAILURES_IN_A_ROW", "0")  # the share only
    calls("simulator", ok=8, failed=2)  # 20 %: not above the threshold
    assert alerts_sweep() == {"opened": 0, "closed": 0}
    calls("simulator", ok=0, failed=3)  # 5 of 13: 38 %
    assert alerts_sweep() == {"opened": 1, "closed": 0}
    assert alerts_sweep() == {"opened": 0, "closed": 0}  # the same incident: once
    alert = Alert.objects.get()
    assert alert.open_key == "supplier:simulator" and alert.is_open and alert.emailed
    assert alert.details["failures"] == 5 and alert.details["calls"] == 13
    assert len(mails()) == 1 and "5 of 13 calls failed" in mails()[0]

    clock.advance(dt.timedelta(hours=2))  # the calls leave the last hour: it clears
    assert alerts_sweep() == {"opened": 0, "closed": 1}
    alert.refresh_from_db()
    assert alert.closed_at == clock.now() and alert.open_key is None

    calls("simulator", ok=0, failed=10)  # again: a new incident, told again
    assert alerts_sweep() == {"opened": 1, "closed": 0}
    assert Alert.objects.count() == 2 and len(mails()) == 2
    assert Alert.objects.filter(open_key__isnull=False).count() == 1


def test_two_sweeps_at_once_open_the_incident_once() -> None:
    incident = Incident(Alert.Kind.SUPPLIER, "simulator", {"supplier": "Simulator",
                                                           "calls": 10, "failures": 9,
                                                           "failovers": 0})
    first = open_incident(incident, clock.now())
    # The other sweep looked before the first one wrote: the database refuses its copy.
    assert first is not None and open_incident(incident, clock.now()) is None
    assert Alert.objects.count() == 1 and len(mails()) == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(kind="supplier", subject="simulator", open_key="supplier:simulator")


def test_activations_renewals_and_a_waiting_chat_raise_their_alerts() -> None:
    customer = builders.user("li@example.com")
    Order.objects.create(number="ED-LATE0001", user=customer, currency="USD", total=500,
                         status=Order.Status.PAID, paid_at=clock.now() - dt.timedelta(minutes=45))
    chat = Conversation.objects.create(customer=customer,
                                       created_at=clock.now() - dt.timedelta(minutes=20))
    Conversation.objects.create(customer=customer, created_at=clock.now())  # not yet late
    subscription = builders.auto_renewing(customer, builders.standard_plan())
    settled = clock.now() - dt.timedelta(hours=3)
    RenewalAttempt.objects.bulk_create(
        [RenewalAttempt(subscription=subscription, sequence=100 + n, tries=1,
                        state=RenewalAttempt.State.RETRY_WAIT, updated_at=settled)
         for n in range(4)]
        + [RenewalAttempt(subscription=subscription, sequence=200 + n,
                          state=RenewalAttempt.State.SUCCEEDED, updated_at=settled)
           for n in range(6)])
    found = {incident.key: incident.details for incident in evaluate()}
    assert found["activations:"] == {"waiting": 1, "oldest_minutes": 45}
    assert found["renewals:"] == {"declined": 4, "settled": 10}
    assert found[f"chat:{chat.pk}"] == {"conversation": chat.pk, "minutes": 20}
    assert len(found) == 3
    assert alerts_sweep()["opened"] == 3 and len(mails()) == 3


def test_open_alerts_show_on_every_console_page_and_in_the_list() -> None:
    customer = builders.user("li@example.com")
    Conversation.objects.create(customer=customer,
                                created_at=clock.now() - dt.timedelta(minutes=30))
    alerts_sweep()
    _user, agent = member("agent@example.com", "agent")
    for path in ("/staff/customers/", "/staff/support/", "/staff/alerts/"):
        page = agent.get(path).content.decode()
        assert "has waited 30 minutes for a first answer" in page, path
    clock.advance(dt.timedelta(minutes=1))
    Conversation.objects.update(first_reply_at=clock.now())
    alerts_sweep()
    assert "console-alerts" not in agent.get("/staff/customers/").content.decode()
    assert "has waited 30 minutes" in agent.get("/staff/alerts/?show=all").content.decode()


def _call(supplier: str, outcome: str, minutes_ago: float) -> None:
    SupplierCall.objects.create(at=clock.now() - dt.timedelta(minutes=minutes_ago),
                                supplier=supplier, operation="order_profile", outcome=outcome,
                                duration_ms=50)


def test_a_supplier_failing_call_after_call_alerts_until_a_call_succeeds(
        monkeypatch: Any) -> None:
    monkeypatch.setenv("ESIMDESK_ALERT_SUPPLIER_FAILURES_IN_A_ROW", "5")
    _call("simulator", "ok", 50)
    for minutes, outcome in ((40, "error"), (30, "retryable"), (20, "refused"),
                             (15, "not_supported"), (10, "error")):
        _call("simulator", outcome, minutes)
    assert "supplier_failing_in_a_row:simulator" not in {i.key for i in evaluate()}  # 4
    _call("simulator", "retryable", 5)
    found = {i.key: i.details for i in evaluate()}
    assert found["supplier_failing_in_a_row:simulator"]["in_a_row"] == 5
    assert alerts_sweep()["opened"] == 1
    [subject] = mails()
    assert "Supplier failing every call" in subject and "the last 5 calls" in subject
    # Hours later with no call since, nothing has shown that it works: still open.
    clock.advance(dt.timedelta(hours=3))
    assert alerts_sweep() == {"opened": 0, "closed": 0}
    _call("simulator", "ok", 0.5)
    assert alerts_sweep() == {"opened": 0, "closed": 1}


def test_failing_over_more_than_the_share_of_new_esims_alerts(monkeypatch: Any) -> None:
    monkeypatch.setenv("ESIMDESK_ALERT_SUPPLIER_FAILURES_IN_A_ROW", "0")
    customer = builders.user("li@example.com")
    plan = builders.standard_plan()
    for n in range(9):  # nine new eSIMs the first supplier issued in the last hour
        order = Order.objects.create(number=f"ED-OK{n:06d}", user=customer, currency="USD",
                                     total=500, status=Order.Status.FULFILLED)
        OrderLine.objects.create(order=order, type="new_esim", plan=plan, amount=500,
                                 esim=builders.make_esim(customer, subscribe=False),
                                 fulfilled_at=clock.now() - dt.timedelta(minutes=10))

    def failovers(count: int) -> None:
        for _ in range(count):
            AuditEntry.objects.create(actor_type="task", actor="fulfilment",
                                      action="activation.failover", object_type="orderline",
                                      object_id="1", before={"supplier": "simulator"},
                                      after={"supplier": "esimgo"},
                                      at=clock.now() - dt.timedelta(minutes=5))

    failovers(2)  # 2 of 11: under the minimum count (3)
    assert not [i for i in evaluate() if i.kind == Alert.Kind.FAILOVER_SHARE]
    failovers(1)  # 3 of 12 = 25 %: above 20 %
    [incident] = [i for i in evaluate() if i.kind == Alert.Kind.FAILOVER_SHARE]
    assert incident.details == {"supplier": "Upstream simulator", "failovers": 3,
                                "activations": 12}
    assert alerts_sweep()["opened"] == 1
    assert "3 of 12 new eSIMs tried there in the last hour failed over" in mails()[0]
    monkeypatch.setenv("ESIMDESK_ALERT_FAILOVER_PERCENT", "30")  # 25 % is fine now
    assert alerts_sweep() == {"opened": 0, "closed": 1}
