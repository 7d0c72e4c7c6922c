"""What a channel's ``deliver(notification)`` may raise.

``RetryableDeliveryError`` (the provider is down, slow or throttling us) and any unexpected
exception are retried by ``tasks.deliver_notification`` with backoff. ``FinalDeliveryError``
(the provider refused this message: bad number, bad credentials, opted out) is recorded on
the Notification and not retried: sending the same request again cannot succeed.
"""

from __future__ import annotations


class DeliveryError(RuntimeError):
    pass


class RetryableDeliveryError(DeliveryError):
    pass


class FinalDeliveryError(DeliveryError):
    pass
