from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django_tasks import task

from esimdesk.core import clock
from esimdesk.notifications.channels import email, sms
from esimdesk.notifications.models import Channel, Notification

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
CHANNELS = {Channel.EMAIL: email.deliver, Channel.SMS: sms.deliver}


@task()
def deliver_notification(notification_id: int) -> str:
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        if notification.status == Notification.Status.SENT:
            return "already sent"
        notification.attempts += 1
        try:
            CHANNELS[Channel(notification.channel)](notification)
        except Exception as error:  # any transport failure is retried, then recorded
            logger.warning("delivery of notification %s failed: %s", notification_id, error)
            notification.status = Notification.Status.FAILED
            notification.error = f"{type(error).__name__}: {error}"[:2000]
            notification.save(update_fields=["status", "attempts", "error"])
            if notification.attempts < MAX_ATTEMPTS:
                delay = dt.timedelta(minutes=2 ** notification.attempts)
                deliver_notification.using(run_after=clock.now() + delay).enqueue(
                    notification_id)
            return "failed"
        notification.status = Notification.Status.SENT
        notification.sent_at = clock.now()
        notification.error = ""
        notification.save(update_fields=["status", "attempts", "error", "sent_at"])
    return "sent"
