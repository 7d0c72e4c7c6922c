"""The admin's history names each record as it is now, in the reader's language, and as
stored once the record is gone; models name themselves in the reader's language."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from esimdesk.core.admin_log import current_names
from esimdesk.subscriptions.models import Period
from tests.builders import make_esim, period_of, user

pytestmark = pytest.mark.django_db


def logged(obj: object, stored: str, by: object, flag: int = CHANGE) -> LogEntry:
    return LogEntry.objects.create(
        user=by, content_type=ContentType.objects.get_for_model(type(obj)),
        object_id=str(getattr(obj, "pk", "")), object_repr=stored, action_flag=flag)


def test_a_record_is_named_as_it_is_now_and_as_stored_once_gone() -> None:
    admin = user("boss@example.com", is_staff=True)
    period = period_of(make_esim())
    changed = logged(period, "period 1 of subscription 11", admin)
    gone = logged(Period(pk=99_999), "period 7 of subscription 3", admin, ADDITION)
    stale_user = logged(admin, "old@example.com", admin)
    with translation.override("en"):
        names = current_names([changed, gone, stale_user])
        assert names[changed.pk] == (
            f"period 1 of subscription {period.subscription_id}")
    assert names[gone.pk] == "period 7 of subscription 3"  # deleted: as stored
    assert names[stale_user.pk] == "boss@example.com"  # renamed: as it is now
    with translation.override("zh-hans"):
        chinese = current_names([changed])[changed.pk]
    assert "period" not in chinese, chinese


def test_one_query_per_kind_of_record() -> None:
    admin = user("boss@example.com", is_staff=True)
    entries = [logged(period_of(make_esim()), "p", admin) for _ in range(5)]
    entries = list(LogEntry.objects.select_related("content_type").filter(
        pk__in=[entry.pk for entry in entries]))
    with CaptureQueriesContext(connection) as queries:
        current_names(entries)
    assert len(queries) == 1


def test_the_data_index_lists_recent_actions_by_their_current_names(client: object) -> None:
    admin = user("boss@example.com", is_staff=True, is_superuser=True, language="en")
    period = period_of(make_esim())
    logged(period, "a name nobody would give it", admin)
    client.force_login(admin)  # type: ignore[attr-defined]
    page = client.get("/staff/data/").content.decode()  # type: ignore[attr-defined]
    assert f"period 1 of subscription {period.subscription_id}" in page
    assert "a name nobody would give it" not in page
