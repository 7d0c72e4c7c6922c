"""notify(): channels chosen by preferences and kind, transactional always delivered, once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from esimdesk.accounts.models import User
from esimdesk.notifications import routing, services
from esimdesk.notifications.models import (
    Category,
    Notification,
    NotificationPreference,
    OutboxMessage,
)
from tests.conftest import run_tasks
from tests.notifications.conftest import context

ALL_OFF = {"email": False, "sms": False, "inapp": False, "reminders": False, "renewals": False}


def notify(user: User, kind: str = "reminder_expiry", key: str = "k-1", **kw: Any) -> list[str]:
    sent = services.notify(user=user, kind=kind, template="test_notice", context=context(),
                           dedupe_key=key, **kw)
    return [n.channel for n in sent]


# -- routing (pure) ----------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "category"), [
    ("reminder_expiry", Category.REMINDERS), ("reminder_low_data", Category.REMINDERS),
    ("renewal_upcoming", Category.RENEWALS), ("auto_renew_upcoming", Category.RENEWALS),
])
def test_every_reminder_kind_maps_to_a_category(kind: str, category: Category) -> None:
    assert routing.category_for(kind) == category


def test_an_unmapped_non_transactional_kind_is_refused(make_user: Callable[..., User]) -> None:
    user = make_user()
    with pytest.raises(routing.UnknownKind):
        notify(user, kind="newsletter")
    assert notify(user, kind="newsletter", transactional=True) == ["email", "sms", "inapp"]


# -- preferences -----------------------------------------------------------------------------

def test_defaults_send_on_every_channel_the_user_has(make_user: Callable[..., User]) -> None:
    assert notify(make_user()) == ["email", "sms", "inapp"]
    assert notify(make_user("p@example.com", phone=None), key="k-2") == ["email", "inapp"]
    assert notify(make_user(None, phone="+8613900000000"), key="k-3") == ["sms", "inapp"]
    assert not NotificationPreference.objects.exists()  # sending writes no preference rows


@pytest.mark.parametrize(("off", "expected"), [
    ({"email": False}, ["sms", "inapp"]),
    ({"sms": False}, ["email", "inapp"]),
    ({"inapp": False}, ["email", "sms"]),
    ({"email": False, "sms": False}, ["inapp"]),
    ({"reminders": False}, []),
    ({"renewals": False}, ["email", "sms", "inapp"]),  # another category
])
def test_preferences_are_honoured_per_channel_and_kind(make_user: Callable[..., User],
                                                       off: dict[str, bool],
                                                       expected: list[str]) -> None:
    user = make_user()
    services.update_preferences(user=user, **off)
    assert notify(user) == expected
    run_tasks()
    outbox = set(OutboxMessage.objects.values_list("channel", flat=True))
    assert outbox == {c for c in expected if c != "inapp"}


def test_renewal_heads_up_follows_the_renewals_switch(make_user: Callable[..., User]) -> None:
    user = make_user()
    services.update_preferences(user=user, renewals=False)
    assert notify(user, kind="renewal_upcoming") == []
    assert notify(user, kind="reminder_expiry", key="k-2") == ["email", "sms", "inapp"]


def test_a_closed_account_gets_no_reminders(make_user: Callable[..., User]) -> None:
    user = make_user(is_active=False)
    assert notify(user) == []


# -- transactional ---------------------------------------------------------------------------

def test_transactional_goes_out_by_email_even_with_everything_off(
        make_user: Callable[..., User]) -> None:
    user = make_user()
    services.update_preferences(user=user, **ALL_OFF)
    assert notify(user, kind="renewal_succeeded", transactional=True) == ["email"]
    run_tasks()
    mail = OutboxMessage.objects.get()
    assert (mail.channel, mail.to) == ("email", "alex@example.com")


def test_transactional_falls_back_to_sms_without_an_email_address(
        make_user: Callable[..., User]) -> None:
    user = make_user(None)
    services.update_preferences(user=user, **ALL_OFF)
    assert notify(user, kind="refund_confirmation", transactional=True) == ["sms"]


def test_an_in_app_notice_alone_does_not_count_for_transactional(
        make_user: Callable[..., User]) -> None:
    user = make_user()
    services.update_preferences(user=user, email=False, sms=False)
    assert notify(user, kind="renewal_failed", transactional=True) == ["email", "inapp"]


def test_transactional_respects_the_channels_left_on(make_user: Callable[..., User]) -> None:
    user = make_user()
    services.update_preferences(user=user, email=False, reminders=False, renewals=False)
    assert notify(user, kind="renewal_failed", transactional=True) == ["sms", "inapp"]


# -- exactly once ----------------------------------------------------------------------------

def test_calling_twice_sends_once_per_channel(make_user: Callable[..., User]) -> None:
    user = make_user()
    first = services.notify(user=user, kind="reminder_expiry", template="test_notice",
                            context=context(), dedupe_key="reminder:7")
    again = services.notify(user=user, kind="reminder_expiry", template="test_notice",
                            context=context(), dedupe_key="reminder:7")
    assert [n.pk for n in again] == [n.pk for n in first]
    assert sorted(Notification.objects.values_list("dedupe_key", flat=True)) == [
        "reminder:7:email", "reminder:7:inapp", "reminder:7:sms"]
    run_tasks()
    assert OutboxMessage.objects.count() == 2  # e-mail and SMS, once each


def test_once_is_once_even_after_a_preference_change(make_user: Callable[..., User]) -> None:
    """A sweep that runs again after the customer turned SMS on must not remind twice."""
    user = make_user()
    services.update_preferences(user=user, sms=False)
    assert notify(user) == ["email", "inapp"]
    services.update_preferences(user=user, sms=True)
    assert notify(user) == ["email", "inapp"]
    assert Notification.objects.count() == 2


# -- preferences service -----------------------------------------------------------------------

def test_preference_changes_are_audited_and_validated(make_user: Callable[..., User]) -> None:
    from esimdesk.core.errors import ValidationFailed
    from esimdesk.core.models import AuditEntry

    user = make_user()
    services.update_preferences(user=user, sms=False)
    services.update_preferences(user=user, sms=False)  # no change, no second row
    entries = AuditEntry.objects.filter(action="notifications.preferences")
    assert [(e.before, e.after) for e in entries] == [({"sms": True}, {"sms": False})]
    with pytest.raises(ValidationFailed):
        services.update_preferences(user=user, marketing=True)
