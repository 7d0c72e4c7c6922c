"""Activation through real worker processes on PostgreSQL: with the simulator failing half of
its calls (before or after doing the work), 200 paid orders all end with exactly one profile
each and none is lost; with the first supplier down, orders complete on the second.

The orders are paid in this process; two ``esimdesk worker`` processes, started as an
operator would, pick the fulfilment tasks from the same database and retry them."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from esimdesk.accounts.models import User
from esimdesk.esims.models import Esim
from esimdesk.orders.models import Order, OrderLine
from esimdesk.sandbox.models import SimulatedProfile
from tests.builders import Shop
from tests.provisioning.test_activation import paid_orders

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
WAIT_SECONDS = 240


def _database_url() -> str:
    s = connection.settings_dict
    return (f"postgresql://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:"
            f"{s['PORT'] or 5432}/{s['NAME']}")


@contextlib.contextmanager
def _workers_started(tmp_path: Path, count: int,
                     **env: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    environment = {**os.environ, "ESIMDESK_DATABASE_URL": _database_url(),
                   "ESIMDESK_DATA_DIR": str(tmp_path), "ESIMDESK_SECRET_KEY": "workers-test-" * 4,
                   "ESIMDESK_WORKER_INTERVAL": "0.05", "ESIMDESK_ACTIVATION_BACKOFF_SECONDS": "0",
                   "ESIMDESK_EMAIL_URL": "outbox:", **env}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    cli = [sys.executable, "-c", "from esimdesk.cli import main; raise SystemExit(main())"]
    procs = [subprocess.Popen([*cli, "worker"], env=environment, stdout=subprocess.DEVNULL,
                              stderr=open(tmp_path / f"worker{n}.log", "wb"))  # noqa: SIM115
             for n in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_until_settled(ids: list[int], procs: list[subprocess.Popen[bytes]],
                        tmp_path: Path) -> None:
    """Poll the database (the workers' results are only visible there) until no order is
    still being worked on, or fail with the workers' logs."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        open_orders = Order.objects.filter(pk__in=ids, status="paid").count()
        if open_orders == 0:
            return
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            break
        time.sleep(0.2)  # polling another process's progress, not timing anything
    logs = "\n".join(p.read_text()[-3000:] for p in tmp_path.glob("worker*.log"))
    raise AssertionError(f"orders still paid but not fulfilled after {WAIT_SECONDS}s:\n{logs}")


def _one_profile_each(ids: list[int]) -> None:
    assert Order.objects.filter(pk__in=ids, status="fulfilled").count() == len(ids)
    lines = OrderLine.objects.filter(order_id__in=ids)
    assert Esim.objects.filter(order_lines__in=lines).distinct().count() == len(ids)
    assert lines.filter(esim__isnull=True).count() == 0


def test_200_orders_with_half_the_calls_failing(shop: Shop, tmp_path: Path) -> None:
    user = User.objects.create_user("crowd@example.com", "x-long-password-1")
    ids = paid_orders(user, 200)
    with _workers_started(tmp_path, 2, ESIMDESK_SIMULATOR_FAILURE_RATE="0.5",
                          ESIMDESK_ACTIVATION_ATTEMPTS="1000") as procs:
        _wait_until_settled(ids, procs, tmp_path)
    _one_profile_each(ids)
    assert SimulatedProfile.objects.count() == 200  # no retry ordered a second profile
    assert OrderLine.objects.filter(supplier_attempts__gt=0).count() > 20  # outages happened
    references = set(SimulatedProfile.objects.values_list("reference", flat=True))
    assert references == {line.supplier_reference for line in OrderLine.objects.all()}


def test_first_supplier_down_orders_complete_on_the_second(shop: Shop,
                                                           tmp_path: Path) -> None:
    user = User.objects.create_user("failover@example.com", "x-long-password-1")
    ids = paid_orders(user, 20)
    with _workers_started(tmp_path, 2, ESIMDESK_UPSTREAM_PROVIDERS="es2plus,simulator",
                          ESIMDESK_ES2PLUS_URL="http://127.0.0.1:9",
                          ESIMDESK_ACTIVATION_ATTEMPTS="2") as procs:
        _wait_until_settled(ids, procs, tmp_path)
    _one_profile_each(ids)
    assert set(Esim.objects.values_list("upstream", flat=True)) == {"simulator"}
