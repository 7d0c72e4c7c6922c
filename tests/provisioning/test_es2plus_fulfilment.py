"""ES2+ in the fulfilment of a paid order, against the local SM-DP+: the plan's bundle is the
profileType, and an SM-DP+ that names no address fails the order for staff, whose *Retry*
after the setting is fixed completes it with the profile already released."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from esimdesk.accounts.models import User
from esimdesk.catalog.models import Plan
from esimdesk.core.ids import iccid_with_check_digit
from esimdesk.esims.models import Esim
from esimdesk.notifications.models import Notification
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.provisioning.models import Es2Order
from tests import builders
from tests.builders import DAY, Shop
from tests.conftest import run_tasks
from tests.provisioning.fake_es2plus import FakeSmdp, running
from tests.provisioning.test_activation import paid_orders

ICCID = iccid_with_check_digit(f"89990{1:013d}")


@pytest.fixture
def smdp(shop: Shop, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSmdp]:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus"]}
    with running() as fake:
        fake.add(ICCID)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", fake.url)  # http://127.0.0.1:<port>
        monkeypatch.setenv("ESIMDESK_ES2PLUS_PROFILE_TYPE", "fallback-type")
        monkeypatch.setenv("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "")
        monkeypatch.setenv("ESIMDESK_OPS_EMAIL", "ops@example.com")
        yield fake


@pytest.fixture
def user(shop: Shop) -> User:
    return User.objects.create_user("traveller@example.com", "x-long-password-1")


def test_the_plans_bundle_is_the_profile_type(smdp: FakeSmdp, user: User) -> None:
    builders.bundle(Plan.objects.get(code=DAY), "es2plus", code="PT-DAY-PASS")
    [order_id] = paid_orders(user, 1)
    assert orders.fulfil_order(order_id=order_id) == "fulfilled"
    assert smdp.bodies("downloadOrder")[0]["profileType"] == "PT-DAY-PASS"
    esim = Esim.objects.get(iccid=ICCID)
    assert esim.smdp_address == "smdp.fake.test" and esim.upstream == "es2plus"


def test_no_smdp_address_needs_attention_then_retry_completes_it(
        smdp: FakeSmdp, user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    smdp.smdp_address = None  # and the URL names the SM-DP+ by IP address
    [order_id] = paid_orders(user, 1)
    assert orders.fulfil_order(order_id=order_id) == "failed"
    order = Order.objects.get(pk=order_id)
    assert order.status == "fulfilment_failed" and not Esim.objects.exists()
    assert Notification.objects.filter(to="ops@example.com").exists()
    assert Es2Order.objects.get().state == "confirmed"  # released upstream, on record
    monkeypatch.setenv("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "smdp.operator.example")
    assert orders.retry_fulfilment(order_ids=[order_id], actor="ops@example.com") == 1
    run_tasks()
    assert Order.objects.get(pk=order_id).status == "fulfilled"
    esim = Esim.objects.get()
    assert (esim.iccid, esim.smdp_address) == (ICCID, "smdp.operator.example")
    assert esim.matching_id == smdp.profiles[ICCID].matching_id
    assert smdp.allocations == 1 and smdp.called("confirmOrder") == 1
