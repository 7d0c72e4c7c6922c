"""Messages about groups, each in the recipient's language: invitations (to people who may
have no account yet) and member cap warnings. Called inside the transaction of the change
they announce; ``notifications`` sends them after commit."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse

from esimdesk.groups.models import Invitation
from esimdesk.notifications import services as notifications
from esimdesk.notifications.models import Channel
from esimdesk.notifications.rendering import render_email, render_message


@dataclass(frozen=True)
class Invitee:
    """Who an invitation goes to when no account has the address yet: just enough of a
    user for the renderers (language, time zone, how to greet)."""

    email: str
    phone: str
    language: str
    name: str = ""

    @property
    def tz(self) -> dt.tzinfo:
        return zoneinfo.ZoneInfo("UTC")

    def __str__(self) -> str:
        return self.email or self.phone


def invitation_url(invitation: Invitation) -> str:
    return settings.PUBLIC_URL + reverse("portal:group_invitation", args=[invitation.token])


def _account_for(invitation: Invitation) -> Any:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    if invitation.email:
        found = users.filter(email__iexact=invitation.email, is_active=True).first()
        if found is not None:
            return found
    if invitation.phone:
        return users.filter(phone=invitation.phone, is_active=True).first()
    return None


def send_invitation(invitation: Invitation) -> None:
    """An account holder hears on their own channels, in their language (transactional: an
    invitation is not something to switch off); anyone else gets an e-mail or a text at the
    address given, in the invitation's language."""
    group = invitation.group
    context = {"invitation": invitation, "group": group, "inviter": invitation.invited_by,
               "url": invitation_url(invitation), "expires_at": invitation.expires_at}
    key = f"group_invitation:{invitation.pk}"
    account = _account_for(invitation)
    if account is not None:
        notifications.notify(user=account, kind="group_invitation", template="group_invitation",
                             context=context, dedupe_key=key, transactional=True)
        return
    invitee = Invitee(email=invitation.email, phone=invitation.phone,
                      language=invitation.language)
    if invitation.email:
        subject, text, html = render_email(user=invitee, template="group_invitation",
                                           context=context)
        notifications.send_email(to=invitation.email, subject=subject, body_text=text,
                                 body_html=html, kind="group_invitation",
                                 language=invitee.language, dedupe_key=f"{key}:email")
    else:
        sms = render_message(user=invitee, template="group_invitation", context=context,
                             channels=[Channel.SMS])[Channel.SMS]
        notifications.send_sms(to=invitation.phone, body=sms.text, kind="group_invitation",
                               dedupe_key=f"{key}:sms")
