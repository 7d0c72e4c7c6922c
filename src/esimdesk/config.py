"""Configuration read from ``ESIMDESK_*`` environment variables only.

Every setting the platform reads is declared here once, with its default and a short help
text, so ``esimdesk check`` can print what is configured and what is missing.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SECRET_KEY = "esimdesk-insecure-default-secret-key"


@dataclass(frozen=True)
class Option:
    name: str
    default: str
    help: str
    secret: bool = False


OPTIONS: tuple[Option, ...] = (
    Option("ESIMDESK_PRODUCTION", "", "1 refuses unsafe defaults (secret key, debug, SQLite)."),
    Option("ESIMDESK_DATA_DIR", "./var", "SQLite file, generated secret key, uploads."),
    Option("ESIMDESK_DATABASE_URL", "", "Database URL; default: SQLite in the data dir."),
    Option("ESIMDESK_SECRET_KEY", "", "Django secret key; generated into the data dir if unset.",
           secret=True),
    Option("ESIMDESK_PUBLIC_URL", "http://127.0.0.1:8000", "Public base URL for links in mail."),
    Option("ESIMDESK_ALLOWED_HOSTS", "", "Comma-separated host names (default from public URL)."),
    Option("ESIMDESK_DEBUG", "", "1 shows Django debug pages (never in production)."),
    Option("ESIMDESK_REDIS_URL", "", "Redis for the realtime channel layer (optional)."),
    Option("ESIMDESK_EMAIL_URL", "outbox:", "outbox: | smtp://user:pass@host:port | console:"),
    Option("ESIMDESK_EMAIL_FROM", "esimdesk <no-reply@esimdesk.localhost>", "Sender address."),
    Option("ESIMDESK_SMS_BACKEND", "outbox", "outbox (SMS kept in the staff outbox)."),
    Option("ESIMDESK_EMAIL_VERIFICATION", "optional", "none | optional | mandatory"),
    Option("ESIMDESK_PAYMENT_PROVIDERS", "sandbox", "Enabled payment providers, comma-separated."),
    Option("ESIMDESK_UPSTREAM_PROVIDERS", "simulator", "Upstream suppliers in failover order."),
    Option("ESIMDESK_SIMULATOR_SMDP_HOST", "smdp.simulator.esimdesk.test",
           "SM-DP+ host name the upstream simulator puts in activation codes."),
    Option("ESIMDESK_SIMULATOR_ICCID_PREFIX", "8999001", "ICCID prefix of simulated profiles."),
    Option("ESIMDESK_SUPPORT_EMAIL", "support@esimdesk.localhost", "Shown to customers."),
    Option("ESIMDESK_SUPPORT_PHONE", "+1 555 0100", "Hotline shown to customers."),
    Option("ESIMDESK_SCHEDULER_INTERVAL", "30", "Seconds between scheduler sweeps."),
    Option("ESIMDESK_WORKER_INTERVAL", "0.2", "Seconds the worker waits when idle."),
    Option("ESIMDESK_LOG_FORMAT", "json", "json (one object per line) or console."),
)


def env(name: str) -> str:
    """The value of one declared option (environment first, then its default)."""
    for option in OPTIONS:
        if option.name == name:
            return os.environ.get(name, option.default)
    raise KeyError(f"undeclared option {name}")


def flag(name: str) -> bool:
    return env(name).strip().lower() in {"1", "true", "yes", "on"}


def data_dir() -> Path:
    path = Path(env("ESIMDESK_DATA_DIR")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


class ConfigurationError(RuntimeError):
    """Raised when the configuration is unsafe or incomplete."""


def secret_key() -> str:
    """The secret key: from the environment, or generated once into the data directory.

    Production mode refuses the generated or default key: a key on local disk is fine for the
    embedded default but must be managed explicitly in production.
    """
    configured = os.environ.get("ESIMDESK_SECRET_KEY", "")
    if flag("ESIMDESK_PRODUCTION"):
        if not configured or configured == DEFAULT_SECRET_KEY or len(configured) < 32:
            raise ConfigurationError(
                "ESIMDESK_PRODUCTION is set but ESIMDESK_SECRET_KEY is missing, the default, "
                "or shorter than 32 characters"
            )
        return configured
    if configured:
        return configured
    key_file = data_dir() / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()
