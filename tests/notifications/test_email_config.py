"""ESIMDESK_EMAIL_URL -> Django and anymail settings, and how e-mail failures are classed."""

from __future__ import annotations

from typing import Any

import pytest

from esimdesk.config import ConfigurationError
from esimdesk.notifications.email_config import EmailUrlError, email_settings

ANYMAIL = "anymail.backends.{}.EmailBackend"


@pytest.mark.parametrize(("url", "backend", "anymail"), [
    ("mailgun://key-AbC123@mg.example.com", ANYMAIL.format("mailgun"),
     {"MAILGUN_API_KEY": "key-AbC123", "MAILGUN_SENDER_DOMAIN": "mg.example.com"}),
    ("mailgun://Key%2F1@mg.example.com?region=eu", ANYMAIL.format("mailgun"),
     {"MAILGUN_API_KEY": "Key/1", "MAILGUN_SENDER_DOMAIN": "mg.example.com",
      "MAILGUN_API_URL": "https://api.eu.mailgun.net/v3"}),
    ("sendgrid://SG.AbCd.EfGh", ANYMAIL.format("sendgrid"), {"SENDGRID_API_KEY": "SG.AbCd.EfGh"}),
    ("postmark://Server-Token-X", ANYMAIL.format("postmark"),
     {"POSTMARK_SERVER_TOKEN": "Server-Token-X"}),
    ("postmark://tok?message_stream=receipts", ANYMAIL.format("postmark"),
     {"POSTMARK_SERVER_TOKEN": "tok", "POSTMARK_MESSAGE_STREAM": "receipts"}),
    ("brevo://xkeysib-ABC", ANYMAIL.format("brevo"), {"BREVO_API_KEY": "xkeysib-ABC"}),
    ("amazonses://eu-west-1", ANYMAIL.format("amazon_ses"),
     {"AMAZON_SES_SESSION_PARAMS": {"region_name": "eu-west-1"}}),
    ("amazonses://AKIAXYZ:se%2Fcr%2Bet@us-east-1", ANYMAIL.format("amazon_ses"),
     {"AMAZON_SES_SESSION_PARAMS": {"region_name": "us-east-1",
                                    "aws_access_key_id": "AKIAXYZ",
                                    "aws_secret_access_key": "se/cr+et"}}),
])
def test_hosted_providers(url: str, backend: str, anymail: dict[str, Any]) -> None:
    assert email_settings(url) == {"EMAIL_BACKEND": backend, "ANYMAIL": anymail}


def test_api_keys_keep_their_case() -> None:
    assert email_settings("SendGrid://SG.UPPER.lower")["ANYMAIL"] == {
        "SENDGRID_API_KEY": "SG.UPPER.lower"}


@pytest.mark.parametrize(("url", "backend"), [
    ("outbox:", "esimdesk.notifications.backends.OutboxEmailBackend"),
    ("", "esimdesk.notifications.backends.OutboxEmailBackend"),
    ("console:", "django.core.mail.backends.console.EmailBackend"),
])
def test_local_backends(url: str, backend: str) -> None:
    assert email_settings(url) == {"EMAIL_BACKEND": backend, "ANYMAIL": {}}


def test_smtp_and_smtps() -> None:
    smtp = email_settings("smtp://apikey:p%40ss@smtp.example.com:587")
    assert smtp["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_HOST_USER"],
            smtp["EMAIL_HOST_PASSWORD"], smtp["EMAIL_USE_TLS"], smtp["EMAIL_USE_SSL"]) == (
        "smtp.example.com", 587, "apikey", "p@ss", True, False)
    smtps = email_settings("smtps://u:p@mail.example.com")
    assert (smtps["EMAIL_PORT"], smtps["EMAIL_USE_SSL"], smtps["EMAIL_USE_TLS"]) == (
        465, True, False)


@pytest.mark.parametrize("url", [
    "smpt://typo@example.com", "mailgun://only-a-key", "sendgrid://", "sendgrid:key",
    "amazonses://just-a-key-id@eu-west-1", "mailchimp://key",
])
def test_bad_urls_are_refused_at_start_up(url: str) -> None:
    with pytest.raises(EmailUrlError) as refused:
        email_settings(url)
    assert isinstance(refused.value, ConfigurationError)  # `esimdesk` prints it and exits
    assert "ESIMDESK_EMAIL_URL" in str(refused.value)


def test_every_anymail_backend_named_exists() -> None:
    import importlib

    from esimdesk.notifications.email_config import ANYMAIL_BACKENDS

    for name, path in ANYMAIL_BACKENDS.items():
        if name == "amazonses":
            continue  # needs boto3, an optional extra (see docs/operations.md)
        module, _, cls = path.rpartition(".")
        assert hasattr(importlib.import_module(module), cls), path


def test_provider_refusals_are_final_and_outages_retried() -> None:
    from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused

    from esimdesk.notifications.channels.email import _refused_by_provider

    assert _refused_by_provider(AnymailRecipientsRefused("all refused"))
    assert _refused_by_provider(AnymailAPIError("bad key", status_code=401))
    assert not _refused_by_provider(AnymailAPIError("slow down", status_code=429))
    assert not _refused_by_provider(AnymailAPIError("down", status_code=502))
    assert not _refused_by_provider(ConnectionError("no route"))


def test_a_hosted_providers_message_id_is_recorded(db: Any, settings: Any) -> None:
    from django.core import mail

    from esimdesk.notifications import services
    from tests.conftest import run_tasks

    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    notification = services.send_email(to="a@example.com", subject="Hi", body_text="Hello",
                                       kind="test", dedupe_key="anymail-1")
    run_tasks()
    notification.refresh_from_db()
    assert notification.status == "sent"
    assert notification.external_id == "0"  # the test backend's id: its outbox index
    assert mail.outbox[0].extra_headers["X-Esimdesk-Notification"] == "anymail-1"
