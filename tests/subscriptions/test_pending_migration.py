"""The migration that brings pending periods, on a copy of existing data: periods already
running stay exactly as they were, and the plans they belong to start at first use only for
what is bought after it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("catalog", "0003_supplierbundle_exchangerate"),
          ("subscriptions", "0003_one_plan_bucket_per_kind"),
          ("usage", "0007_usage_route")]
AFTER = [("catalog", "0004_validity_starts"), ("subscriptions", "0004_pending_periods"),
         ("usage", "0008_usage_route_skips_pending")]
START = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


@pytest.fixture(autouse=True)
def _back_to_the_latest() -> Iterator[None]:
    """Whatever happens, the database ends fully migrated for the tests after this one."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_running_periods_stay_running() -> None:
    old = migrate(BEFORE).loader.project_state(BEFORE).apps
    user = old.get_model("accounts", "User").objects.create(email="old@example.com")
    plan = old.get_model("catalog", "Plan").objects.create(
        code="old-plan", coverage="country", validity_unit="day", validity_count=30,
        data_bytes=10**9, name_en="Old", name_zh_hans="旧")
    esim = old.get_model("esims", "Esim").objects.create(
        owner=user, iccid="8999000000000000999", smdp_address="smdp.example.com",
        matching_id="M", upstream="simulator")
    subscription = old.get_model("subscriptions", "Subscription").objects.create(
        esim=esim, plan=plan)
    Period = old.get_model("subscriptions", "Period")
    running = Period.objects.create(subscription=subscription, sequence=1, plan=plan,
                                    starts_at=START, ends_at=START + dt.timedelta(days=30),
                                    state="active")
    queued = Period.objects.create(subscription=subscription, sequence=2, plan=plan,
                                   starts_at=START + dt.timedelta(days=30),
                                   ends_at=START + dt.timedelta(days=60), state="scheduled")

    new = migrate(AFTER).loader.project_state(AFTER).apps
    Period = new.get_model("subscriptions", "Period")
    for before in (running, queued):
        after = Period.objects.get(pk=before.pk)
        assert (after.starts_at, after.ends_at, after.state) == (
            before.starts_at, before.ends_at, before.state)
        assert after.activate_by is None and after.extra_days == 0
    migrated_plan = new.get_model("catalog", "Plan").objects.get(pk=plan.pk)
    assert migrated_plan.validity_starts == "first_use"
    assert migrated_plan.activate_within_days == 180
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT period_id FROM usage_route ORDER BY period_id")
            assert [row[0] for row in cursor.fetchall()] == [running.pk, queued.pk]
