"""Subjects, text parts, SMS and in-app texts are plain text: a customer, group, company or
plan called ``Anne O'Brien & Sons <b>`` reads exactly that, never ``O&#x27;Brien &amp;``;
the HTML part of the same e-mail carries the name escaped. Every message template is
checked, then the real paths: order confirmation, invitations by e-mail and SMS, allauth's
mail, and the in-app notice shown on a page (escaped there)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core.money import Money
from esimdesk.notifications import services
from esimdesk.notifications.models import Channel, Notification, OutboxMessage
from esimdesk.notifications.rendering import render_message
from tests.builders import DAY, Shop
from tests.conftest import Api, run_tasks
from tests.e2e.helpers import buy_and_pay

NAME = "Anne O'Brien & Sons <b>"
ESCAPED = "Anne O&#x27;Brien &amp; Sons &lt;b&gt;"
ENTITIES = ("&amp;", "&#x27;", "&#39;", "&lt;", "&gt;", "&quot;")
EMAIL_TEMPLATES = (Path(__file__).resolve().parents[2] / "src" / "esimdesk" / "notifications"
                   / "templates" / "notifications" / "email")
AT = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def _contexts() -> dict[str, dict[str, Any]]:
    """For each message template, a context whose every name is the hostile one."""
    usd = Money(1299, "USD")
    group = SimpleNamespace(name=NAME, company_name=NAME, kind="family")
    plan = SimpleNamespace(name=NAME)
    esim = SimpleNamespace(display_name=NAME, iccid="8999001000000000017")
    period = SimpleNamespace(starts_at=AT, ends_at=AT + dt.timedelta(days=7))
    allowance = SimpleNamespace(remaining=10**9, total=5 * 10**9, used_percent=80)
    order = SimpleNamespace(number="EO-1", total_money=usd, paid_with=NAME,
                            receipt=SimpleNamespace(number="R-1"))
    inviter = SimpleNamespace(name=NAME)
    url = "https://esim.example/x?a=1&b=2"
    reminder = {"esim": esim, "esim_name": NAME, "plan": plan, "period": period,
                "allowance": allowance, "auto_renew": False, "renew_url": url, "level": "3d"}
    renewal = {"esim": esim, "order": order, "pay_url": url}
    pool = {"group": group, "plan": plan, "period": period, "allowance": allowance,
            "auto_renew": False, "group_url": url, "level": "3d"}
    pending = {"esim": esim, "esim_name": NAME,
               "plan": SimpleNamespace(name=NAME, validity_label=NAME),
               "period": SimpleNamespace(activate_by=AT), "esim_url": url}
    return {
        "activation_delayed": {"order": order, "order_url": url, "support_email": "s@x.example"},
        "activation_reminder": pending,
        "esim_reissued": {"old_iccid": esim.iccid, "esim_url": url},
        "expiry_reminder": reminder,
        "group_added": {"group": group, "group_url": url},
        "group_invitation": {"group": group, "inviter": inviter, "url": url,
                             "expires_at": AT},
        "group_invoice": {"group": group, "group_url": url, "invoice": SimpleNamespace(
            number="INV-1", month=AT.date(), total_money=usd, due_at=AT)},
        "low_data_reminder": reminder,
        "member_near_cap": {"group": group, "used_percent": 90, "cap": 10**9,
                            "remaining": 10**8, "group_url": url},
        "order_confirmation": {"order": order, "order_url": url, "support_email": "s@x.example",
                               "esim_urls": {}, "lines": [SimpleNamespace(
                                   pk=1, label=NAME, money=usd, period=period,
                                   type="renewal", esim=None)]},
        "pool_activation_reminder": {"group": group, "plan": plan,
                                     "period": SimpleNamespace(activate_by=AT),
                                     "group_url": url},
        "pool_expiry_reminder": pool,
        "pool_low_data": pool,
        "refund_confirmation": {"order": order, "order_url": url, "refund": SimpleNamespace(
            money=usd, reason=NAME, credit_note_number="CN-1")},
        "renewal_declined": renewal,
        "renewal_failed": renewal,
        "renewal_pay_link": renewal,
        "support_reply": {"reply": NAME, "chat_url": url},
        "support_ticket": {"chat_url": url},
    }


def _templates() -> list[str]:
    return sorted(p.name.removesuffix(".subject.txt")
                  for p in EMAIL_TEMPLATES.glob("*.subject.txt"))


def test_every_message_template_has_a_hostile_context() -> None:
    assert set(_contexts()) == set(_templates())


# Subjects that name the customer's group, plan, eSIM or inviter.
NAMED_SUBJECTS = {"activation_reminder", "expiry_reminder", "group_added", "group_invitation",
                  "low_data_reminder", "member_near_cap", "pool_activation_reminder",
                  "pool_expiry_reminder", "pool_low_data",
                  "renewal_declined", "renewal_failed", "renewal_pay_link"}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("template", _templates())
def test_text_is_raw_and_html_is_escaped(make_user: Callable[..., User], template: str,
                                         language: str) -> None:
    user = make_user(name=NAME, language=language)
    rendered = render_message(user=user, template=template, context=_contexts()[template],
                              channels=[Channel.EMAIL, Channel.SMS, Channel.INAPP])
    email = rendered[Channel.EMAIL]
    texts = [email.subject, email.text, rendered[Channel.SMS].text,
             rendered[Channel.INAPP].text, rendered[Channel.INAPP].subject]
    for text in texts:
        assert not any(entity in text for entity in ENTITIES), (template, text)
    assert NAME in email.text  # at least the greeting
    assert "https://esim.example/x?a=1&b=2" in email.text  # links work when copied
    if template in NAMED_SUBJECTS:
        assert NAME in email.subject, email.subject
    if email.html:
        assert ESCAPED in email.html
        assert NAME not in email.html and "<b>" not in email.html


@pytest.mark.django_db
def test_order_confirmation_names_the_customer_as_written(shop: Shop) -> None:
    api = Api.signup("anne@example.com")
    User.objects.filter(email="anne@example.com").update(name=NAME)
    order = buy_and_pay(api, DAY, currency="USD")
    run_tasks()
    mail = OutboxMessage.objects.get(to="anne@example.com", subject__contains=order["id"])
    assert f"Hello {NAME}," in mail.body_text
    assert f"Hello {ESCAPED}," in mail.body_html
    assert not any(entity in mail.body_text + mail.subject for entity in ENTITIES)


@pytest.mark.django_db
def test_invitations_by_email_and_sms_name_the_group_as_written(db: None) -> None:
    from esimdesk.groups import services as groups
    from esimdesk.groups.models import Group
    from tests.builders import make_group_plans
    from tests.sharedplans.conftest import buy_seats

    make_group_plans()
    owner = User.objects.create_user("anne@example.com", "x-long-password-1", name=NAME)
    group = groups.create_group(owner=owner, kind=Group.Kind.FAMILY, name=NAME)
    buy_seats(owner, group, 3)
    groups.invite(by=owner, group=group, email="guest@example.com")
    groups.invite(by=owner, group=group, phone="+8613800138001")
    mail = Notification.objects.get(to="guest@example.com", channel="email")
    assert mail.subject == f"{NAME} invites you to join {NAME} on esimdesk"
    assert f"{NAME} invites you to share the family plan of {NAME}" in mail.body_text
    assert ESCAPED in mail.body_html and NAME not in mail.body_html
    sms = Notification.objects.get(to="+8613800138001", channel="sms")
    assert sms.body_text.startswith(f"esimdesk: {NAME} invites you to join {NAME} (until ")


@pytest.mark.django_db
def test_account_mail_from_allauth_is_plain_text(settings: Any) -> None:
    """allauth's own templates switch escaping off themselves; ours need not: the adapter
    renders every allauth subject and text part as plain text."""
    from allauth.core import context as allauth_context
    from django.test import RequestFactory

    from esimdesk.accounts.adapter import AccountAdapter

    user = User.objects.create_user("anne@example.com", "x-long-password-1", name=NAME)
    with allauth_context.request_context(RequestFactory().get("/")):
        AccountAdapter().send_mail("account/email/test_hostile", "anne@example.com",
                                   {"user": user, "who": NAME})
    mail = Notification.objects.get(to="anne@example.com")
    assert mail.subject == f"esimdesk · Welcome, {NAME}"
    assert mail.body_text == f"Hello {NAME}, your account is ready."
    assert mail.body_html == f"<p>Hello {ESCAPED}</p>"


@pytest.mark.django_db
def test_in_app_notice_is_escaped_where_it_is_shown(make_user: Callable[..., User]) -> None:
    user = make_user(name=NAME)
    services.notify(user=user, kind="group_invitation", template="group_invitation",
                    context=_contexts()["group_invitation"], dedupe_key="hostile",
                    transactional=True)
    inapp = Notification.objects.get(user=user, channel="inapp")
    assert NAME in inapp.body_text
    client = Client()
    client.force_login(user)
    for path in ("/dashboard/", "/account/notifications/"):
        page = client.get(path).content.decode()
        assert "<b>" not in page.replace("<b>esim", "")  # no tag of ours is named so
        assert ESCAPED in page, path
