from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django_tasks import task

from esimdesk.core import clock
from esimdesk.notifications.channels import email, sms
from esimdesk.notifications.channels.base import FinalDeliveryError
from esimdesk.notifications.models import Channel, Notification

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def _inapp(notification: Notification) -> str:
    # In-app notices are stored as sent and never queued; should one reach a worker anyway
    # (a row made by hand), there is nothing to transport.
    return ""


CHANNELS = {Channel.EMAIL: email.deliver, Channel.SMS: sms.deliver, Channel.INAPP: _inapp}


@task()
def deliver_notification(notification_id: int) -> str:
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        if notification.status == Notification.Status.SENT:
            return "already sent"
        notification.attempts += 1
        try:
            external_id = CHANNELS[Channel(notification.channel)](notification)
        except FinalDeliveryError as error:
            # The provider refused this very message: sending it again cannot help.
            logger.error("delivery of notification %s refused: %s", notification_id, error)
            notification.status = Notification.Status.FAILED
            notification.error = str(error)[:2000]
            notification.save(update_fields=["status", "attempts", "error"])
            return "refused"
        except Exception as error:  # any other transport failure is retried, then recorded
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
        notification.external_id = (external_id or "")[:100]
        notification.save(update_fields=["status", "attempts", "error", "sent_at",
                                         "external_id"])
    return "sent"
