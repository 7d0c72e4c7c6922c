"""Twilio SMS adapter (``ESIMDESK_SMS_BACKEND=twilio``).

One call of Twilio's Messages API per text::

    POST {ESIMDESK_TWILIO_API_BASE}/2010-04-01/Accounts/{SID}/Messages.json
    Authorization: Basic base64(SID:AUTH_TOKEN)
    To=+8613800138000&Body=...&From=+15005550006      (or MessagingServiceSid=MG...)

Twilio answers 201 with the message resource (``sid`` "SM…", ``status`` "queued"), or an
error ``{"code", "message", "more_info", "status"}``. A 429, a 5xx, a timeout or a dropped
connection is retryable (the delivery task backs off and tries again); any other 4xx is
final: the request itself is wrong (bad number, bad credentials, opted-out recipient) and is
recorded on the Notification for staff to see.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

from esimdesk import config
from esimdesk.notifications.channels.base import FinalDeliveryError, RetryableDeliveryError
from esimdesk.notifications.models import Notification

logger = logging.getLogger(__name__)
API_VERSION = "2010-04-01"
# (connect, read) seconds. Generous on reading: Twilio has no idempotency key for sending,
# so a read timeout that is retried may send the text twice; better to wait a little longer.
TIMEOUT = (5.0, 20.0)


class TwilioConfigurationError(RuntimeError):
    """A required ESIMDESK_TWILIO_* option is missing (retried: the operator can fix it)."""


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    sender: str
    api_base: str

    @classmethod
    def from_env(cls) -> TwilioSettings:
        found = cls(account_sid=config.env("ESIMDESK_TWILIO_ACCOUNT_SID").strip(),
                    auth_token=config.env("ESIMDESK_TWILIO_AUTH_TOKEN").strip(),
                    sender=config.env("ESIMDESK_TWILIO_FROM").strip(),
                    api_base=config.env("ESIMDESK_TWILIO_API_BASE").strip().rstrip("/"))
        missing = [name for name, value in (("ESIMDESK_TWILIO_ACCOUNT_SID", found.account_sid),
                                            ("ESIMDESK_TWILIO_AUTH_TOKEN", found.auth_token),
                                            ("ESIMDESK_TWILIO_FROM", found.sender))
                   if not value]
        if missing:
            raise TwilioConfigurationError(f"Twilio SMS needs {', '.join(missing)}")
        return found

    @property
    def messages_url(self) -> str:
        return f"{self.api_base}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def sender_field(self) -> tuple[str, str]:
        # A messaging service (MG…) picks the sender number itself, per destination country.
        if self.sender.startswith("MG"):
            return "MessagingServiceSid", self.sender
        return "From", self.sender


def send(*, to: str, body: str, twilio: TwilioSettings | None = None) -> dict[str, Any]:
    """Send one text; answers Twilio's message resource. Raises Retryable- or
    FinalDeliveryError."""
    twilio = twilio or TwilioSettings.from_env()
    field, sender = twilio.sender_field()
    try:
        response = requests.post(twilio.messages_url, data={"To": to, "Body": body, field: sender},
                                 auth=(twilio.account_sid, twilio.auth_token), timeout=TIMEOUT)
    except (requests.Timeout, requests.ConnectionError) as error:
        raise RetryableDeliveryError(f"Twilio did not answer: {type(error).__name__}") from error
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableDeliveryError(_describe(response))
    if response.status_code >= 400:
        raise FinalDeliveryError(_describe(response))
    try:
        message = response.json()
    except ValueError:
        # Twilio accepted the message (2xx); retrying could send it twice.
        logger.warning("Twilio answered %s without JSON", response.status_code)
        return {"sid": "", "status": "unknown"}
    if message.get("status") in ("failed", "undelivered"):
        raise FinalDeliveryError(
            f"Twilio message {message.get('sid')} {message['status']}: "
            f"error {message.get('error_code')} {message.get('error_message') or ''}".strip())
    return dict(message)


def deliver(notification: Notification) -> str:
    return str(send(to=notification.to, body=notification.body_text).get("sid") or "")


def _describe(response: requests.Response) -> str:
    try:
        error = response.json()
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {}
    text = f"Twilio HTTP {response.status_code}"
    if error.get("code"):
        text += f" error {error['code']}"
    if error.get("message"):
        text += f": {error['message']}"
    if error.get("more_info"):
        text += f" ({error['more_info']})"
    return text
