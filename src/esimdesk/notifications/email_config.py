"""``ESIMDESK_EMAIL_URL`` -> Django e-mail settings. A pure function, called by settings.py
(so it must not import Django models) and unit-tested on its own.

Supported URLs (secrets with ``@ : / ? #`` in them must be percent-encoded):

=====================================================  =======================================
``outbox:``                                            staff outbox (the embedded default)
``console:``                                           printed on stdout
``smtp://USER:PASSWORD@HOST:587``                      SMTP, STARTTLS on port 587
``smtps://USER:PASSWORD@HOST:465``                     SMTP over TLS
``mailgun://API_KEY@DOMAIN[?region=eu]``               Mailgun (anymail); EU region API
``sendgrid://API_KEY``                                 SendGrid (anymail)
``postmark://SERVER_TOKEN[?message_stream=NAME]``      Postmark (anymail)
``brevo://API_KEY``                                    Brevo, formerly Sendinblue (anymail)
``amazonses://[ACCESS_KEY_ID:SECRET@]REGION``          Amazon SES (anymail; needs ``boto3``,
                                                       ``pip install 'django-anymail[amazon-ses]'``;
                                                       without keys boto3 finds its own)
=====================================================  =======================================
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from esimdesk.config import ConfigurationError

OUTBOX_BACKEND = "esimdesk.notifications.backends.OutboxEmailBackend"
ANYMAIL_BACKENDS = {
    "mailgun": "anymail.backends.mailgun.EmailBackend",
    "sendgrid": "anymail.backends.sendgrid.EmailBackend",
    "postmark": "anymail.backends.postmark.EmailBackend",
    "brevo": "anymail.backends.brevo.EmailBackend",
    "amazonses": "anymail.backends.amazon_ses.EmailBackend",
}
MAILGUN_EU_API_URL = "https://api.eu.mailgun.net/v3"


class EmailUrlError(ConfigurationError):
    """ESIMDESK_EMAIL_URL cannot be understood. Refused at start-up: a typo must not send
    every receipt into the outbox unnoticed."""


def email_settings(url: str) -> dict[str, Any]:
    """Django settings for ``url``: always ``EMAIL_BACKEND`` and ``ANYMAIL`` (empty unless a
    hosted provider), plus ``EMAIL_HOST``… for SMTP."""
    url = url.strip() or "outbox:"
    scheme, _, rest = url.partition(":")
    scheme = scheme.lower()
    if scheme == "outbox":
        return {"EMAIL_BACKEND": OUTBOX_BACKEND, "ANYMAIL": {}}
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
                "ANYMAIL": {}}
    if scheme in ("smtp", "smtps"):
        return _smtp(url, scheme)
    if scheme in ANYMAIL_BACKENDS:
        if not rest.startswith("//"):
            raise EmailUrlError(f"ESIMDESK_EMAIL_URL: write {scheme}://…")
        return {"EMAIL_BACKEND": ANYMAIL_BACKENDS[scheme], "ANYMAIL": _anymail(scheme, url)}
    known = ", ".join(["outbox:", "console:", "smtp://", "smtps://",
                       *(f"{name}://" for name in ANYMAIL_BACKENDS)])
    raise EmailUrlError(f"ESIMDESK_EMAIL_URL: unknown scheme {scheme!r} (use {known})")


def _smtp(url: str, scheme: str) -> dict[str, Any]:
    parts = urlsplit(url)
    port = parts.port or (465 if scheme == "smtps" else 587)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "ANYMAIL": {},
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": scheme == "smtps",
        "EMAIL_USE_TLS": scheme == "smtp" and port == 587,
    }


def _anymail(scheme: str, url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    # Read the raw netloc, not .hostname/.username: those lower-case or split keys, and API
    # keys are case-sensitive.
    netloc = parts.netloc
    user, at, host = netloc.rpartition("@")
    secret, host = (unquote(user), unquote(host)) if at else (unquote(netloc), "")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if scheme == "amazonses":
        return _amazon_ses(secret if at else "", host if at else unquote(netloc))
    if not secret:
        raise EmailUrlError(f"ESIMDESK_EMAIL_URL: {scheme}:// needs the API key")
    if scheme == "mailgun":
        if not host:
            raise EmailUrlError("ESIMDESK_EMAIL_URL: write mailgun://API_KEY@DOMAIN")
        options: dict[str, Any] = {"MAILGUN_API_KEY": secret, "MAILGUN_SENDER_DOMAIN": host}
        if query.get("region", "").lower() == "eu":
            options["MAILGUN_API_URL"] = MAILGUN_EU_API_URL
        return options
    if scheme == "postmark":
        options = {"POSTMARK_SERVER_TOKEN": secret}
        if query.get("message_stream"):
            options["POSTMARK_MESSAGE_STREAM"] = query["message_stream"]
        return options
    return {f"{scheme.upper()}_API_KEY": secret}  # sendgrid, brevo


def _amazon_ses(credentials: str, region: str) -> dict[str, Any]:
    session: dict[str, str] = {}
    if region:
        session["region_name"] = region
    if credentials:
        key_id, colon, secret = credentials.partition(":")
        if not (colon and key_id and secret):
            raise EmailUrlError(
                "ESIMDESK_EMAIL_URL: write amazonses://ACCESS_KEY_ID:SECRET@REGION")
        session["aws_access_key_id"] = key_id
        session["aws_secret_access_key"] = secret
    return {"AMAZON_SES_SESSION_PARAMS": session} if session else {}
