"""Configuration read from ``ESIMDESK_*`` environment variables only.

Every setting is declared once, with its default and a short help text, so ``esimdesk check``
and the staff console can list what is configured and what is missing. The platform's own are
``OPTIONS`` below; each supplier adapter and plug-in payment provider declares its own
(``options`` on the class), and the app owning that registry hands it to
``add_option_source`` in its ``AppConfig.ready``: ``options()`` is both.

A help text is kept in English (``esimdesk check`` prints to an operator's terminal, and this
module is read by the settings, before any translation can load) and marked for the
catalogue where it is declared (``_`` here, ``gettext_noop`` in the adapters); pages show it
through ``help_text``, in the reader's language.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext

DEFAULT_SECRET_KEY = "esimdesk-insecure-default-secret-key"


def _(text: str) -> str:
    """Marks a help text for the catalogue (makemessages extracts ``_``) and returns it
    unchanged. Not Django's ``gettext_noop``: that one reads the settings, which import this
    module."""
    return text


@dataclass(frozen=True)
class Option:
    name: str
    default: str
    help: str
    secret: bool = False
    #: staff may also set it in the console (see ``CONSOLE_PREFIXES``)
    console: bool = False


OPTIONS: tuple[Option, ...] = (
    Option("ESIMDESK_PRODUCTION", "", _("1 refuses unsafe defaults (secret key, debug, SQLite).")),
    Option("ESIMDESK_DATA_DIR", "./var", _("SQLite file, generated secret key, uploads.")),
    Option("ESIMDESK_DATABASE_URL", "", _("Database URL; default: SQLite in the data dir.")),
    Option("ESIMDESK_SECRET_KEY", "", _("Django secret key; generated into the data dir if unset."),
           secret=True),
    Option("ESIMDESK_PUBLIC_URL", "http://127.0.0.1:8000",
           _("Public base URL for links in pages, mail, QR codes and receipts (unset: where "
           "`esimdesk run` / `web` listens, e.g. http://127.0.0.1:8100 for --port 8100).")),
    Option("ESIMDESK_SITE_NAME", "esimdesk", _("The shop's name in account e-mails "
           "(\"Hello from esimdesk!\") and their subjects.")),
    Option("ESIMDESK_ALLOWED_HOSTS", "",
           _("Comma-separated host names (default from public URL).")),
    Option("ESIMDESK_DEBUG", "", _("1 shows Django debug pages (never in production).")),
    Option("ESIMDESK_CSP_FORM_ACTION", "", _("More origins (space-separated) a page's form may "
           "be sent or redirected to, e.g. a payment provider's custom checkout domain.")),
    Option("ESIMDESK_PROXY_SSL_HEADER", "", _("Header your TLS proxy sets on HTTPS requests, "
           "e.g. X-Forwarded-Proto (value https) or X-Forwarded-Ssl=on; only when the proxy "
           "always sets or strips it and is the only way in (docs/operations.md).")),
    Option("ESIMDESK_REDIS_URL", "", _("Redis for the realtime channel layer, the cache and the "
           "sign-in counters (optional; default: the database).")),
    Option("ESIMDESK_REALTIME_URL", "", _("WebSocket base the browser uses, e.g. "
           "wss://esim.example.com (empty: the page's own host, /ws/ routed to realtime).")),
    Option("ESIMDESK_REALTIME_INTERNAL_URL", "", _("Without Redis: where web and worker "
           "processes hand live events to the realtime process (set by `esimdesk run`).")),
    Option("ESIMDESK_CHAT_ANSWER_MINUTES", "5", _("A chat no agent answers within this becomes "
           "a ticket answered by e-mail (the customer is told).")),
    Option("ESIMDESK_CHAT_ATTACHMENT_MAX_BYTES", "5242880",
           _("Largest screenshot a chat accepts.")),
    Option("ESIMDESK_MAX_UPLOAD_BYTES", "16777216", _("Largest multipart (file upload) request "
           "body; larger ones are refused with 413 body_too_large. Other bodies are limited "
           "by Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).")),
    Option("ESIMDESK_EMAIL_URL", "outbox:", _("outbox: | console: | smtp(s)://user:pass@host:port "
           "| mailgun:// | sendgrid:// | postmark:// | brevo:// | amazonses:// (see docs)"),
           secret=True),
    Option("ESIMDESK_EMAIL_FROM", "esimdesk <no-reply@esimdesk.localhost>", _("Sender address.")),
    Option("ESIMDESK_SMS_BACKEND", "outbox", _("outbox (SMS kept in the staff outbox) | twilio.")),
    Option("ESIMDESK_EMAIL_VERIFICATION", "optional",
           _("Sign-up always confirms the e-mail address with a code; this is for signing in "
           "with an address never confirmed (made by staff or an import): mandatory (asked "
           "to confirm it first) | optional | none")),
    Option("ESIMDESK_SIGNIN_LIMITS", "",
           _("Changes to the sign-in policy's limits, e.g. 'failed_signin=5/15m/account,"
           "30/15m/address; reset=5/1h/account,20/1h/address' (docs/operations.md).")),
    Option("ESIMDESK_SANDBOX", "1", _("1 installs the sandbox: the upstream simulator and the "
           "sandbox payment provider, their pages and books (the embedded default); 0 leaves "
           "them out, as a production deployment may (docs/operations.md).")),
    Option("ESIMDESK_PAYMENT_PROVIDERS", "sandbox",
           _("Enabled payment providers, comma-separated.")),
    Option("ESIMDESK_UPSTREAM_PROVIDERS", "simulator", _("Upstream suppliers in failover order.")),
    Option("ESIMDESK_ACTIVATION_ATTEMPTS", "3",
           _("Tries per supplier for a new eSIM before failing over to the next supplier.")),
    Option("ESIMDESK_ACTIVATION_BACKOFF_SECONDS", "1",
           _("First delay before retrying a failed activation; doubles on each try.")),
    Option("ESIMDESK_ACTIVATION_BACKOFF_MAX_SECONDS", "120",
           _("Longest delay between two activation tries.")),
    Option("ESIMDESK_ACTIVATION_DEADLINE_MINUTES", "30",
           _("After this long without a profile the order needs attention (staff alerted, "
           "customer told).")),
    Option("ESIMDESK_SUPPLIER_CALLS_KEEP_DAYS", "35", _("Days each recorded supplier call "
           "(supplier health figures) is kept.")),
    Option("ESIMDESK_REPORTING_CURRENCY", "USD", _("Currency the business figures add revenue "
           "and margin up in, through the staff exchange rates.")),
    Option("ESIMDESK_METRICS_TOKEN", "", _("Bearer token Prometheus sends to scrape /metrics; "
           "unset: /metrics answers 404."), secret=True),
    Option("ESIMDESK_OPS_EMAIL", "", _("Operations mailbox alerted when an order needs attention, "
           "a supplier action is given up, or a console alert opens.")),
    Option("ESIMDESK_ALERT_SUPPLIER_MIN_CALLS", "10", _("Calls a supplier must have had in the "
           "last hour before its failure share can raise an alert.")),
    Option("ESIMDESK_ALERT_SUPPLIER_FAILURE_PERCENT", "20", _("Share of a supplier's calls in "
           "the last hour that failed above which an alert opens.")),
    Option("ESIMDESK_ALERT_SUPPLIER_FAILURES_IN_A_ROW", "5", _("Calls to one supplier failing "
           "one after the other (the latest ones, however old) from which an alert opens; 0 "
           "switches this alert off.")),
    Option("ESIMDESK_ALERT_SUPPLIER_FAILOVERS", "3", _("Failovers away from one supplier in the "
           "last hour before their share can raise an alert; 0 switches this alert off.")),
    Option("ESIMDESK_ALERT_FAILOVER_PERCENT", "20", _("Share of the new eSIMs tried at one "
           "supplier in the last hour that failed over to the next, above which an alert "
           "opens.")),
    Option("ESIMDESK_ALERT_ACTIVATIONS_WAITING", "20", _("Activations waiting at once from which "
           "an alert opens.")),
    Option("ESIMDESK_ALERT_ACTIVATION_MINUTES", "30", _("Minutes the oldest waiting activation "
           "may have waited before an alert opens.")),
    Option("ESIMDESK_ALERT_RENEWAL_DECLINE_PERCENT", "30", _("Share of the automatic renewals "
           "settled in the last day that declined above which an alert opens.")),
    Option("ESIMDESK_ALERT_RENEWAL_MIN_COUNT", "10", _("Renewals settled in the last day before "
           "their decline share can raise an alert.")),
    Option("ESIMDESK_ALERT_CHAT_MINUTES", "15", _("Minutes a conversation may wait for its first "
           "answer before an alert opens.")),
    Option("ESIMDESK_INVOICE_DUE_DAYS", "30", _("Days an organisation has to pay its monthly "
           "invoice.")),
    Option("ESIMDESK_TRUSTED_PROXIES", "", _("Addresses or networks (comma-separated) of the "
           "proxies in front of esimdesk: their X-Forwarded-For names the client, and their "
           "client-certificate headers are believed.")),
    Option("ESIMDESK_CLIENT_CERT_VERIFY_HEADER", "X-SSL-Client-Verify",
           _("Header in which the TLS proxy says the client certificate verified (SUCCESS).")),
    Option("ESIMDESK_CLIENT_CERT_SUBJECT_HEADER", "X-SSL-Client-S-DN",
           _("Header in which the TLS proxy passes the client certificate's subject DN.")),
    Option("ESIMDESK_CLIENT_CERT_FINGERPRINT_HEADER", "X-SSL-Client-Fingerprint",
           _("Header in which the TLS proxy passes the client certificate's SHA-1 fingerprint.")),
    Option("ESIMDESK_SUPPORT_EMAIL", "support@esimdesk.localhost", _("Shown to customers.")),
    Option("ESIMDESK_SUPPORT_PHONE", "+1 555 0100", _("Hotline shown to customers.")),
    Option("ESIMDESK_SUPPORT_HOURS", "Mon-Sun 08:00-22:00; Asia/Shanghai",
           _("Hotline hours: 24/7, or e.g. 'Mon-Fri 09:00-18:00, Sat 10:00-16:00; "
             "Europe/London'.")),
    Option("ESIMDESK_HELP_DIR", "", _("Folder of help-centre articles (en/, zh_Hans/); default: "
           "the built-in ones (docs/help-centre.md).")),
    Option("ESIMDESK_SCHEDULER_INTERVAL", "30", _("Seconds between scheduler sweeps.")),
    Option("ESIMDESK_WORKER_INTERVAL", "0.2", _("Seconds the worker waits when idle.")),
    Option("ESIMDESK_LOG_FORMAT", "json", _("json (one object per line) or console.")),
    # Never lapse: reminders, auto-renew, grace.
    Option("ESIMDESK_EXPIRY_REMINDERS", "7d,3d,1d,0h",
           _("Expiry reminders before a plan ends (d = days, h = hours; 0h = at expiry).")),
    Option("ESIMDESK_LOW_DATA_REMINDERS", "50,75,90,100",
           _("Low-data reminders at these percentages of data used.")),
    Option("ESIMDESK_USAGE_LATE_GRACE", "72h",
           _("Usage records this late after their period ended are still charged to it.")),
    Option("ESIMDESK_AUTO_RENEW_DATA_LEFT", "10",
           _("Auto-renew when this percentage of data is left…")),
    Option("ESIMDESK_AUTO_RENEW_BEFORE", "24h", _("…or this long before the plan ends.")),
    Option("ESIMDESK_AUTO_RENEW_RETRIES", "1h,6h,24h", _("Dunning: retry a declined renewal.")),
    Option("ESIMDESK_GRACE", "0h", _("After expiry, how long before the plan ends upstream.")),
    Option("ESIMDESK_PLAN_CHANGE_POLICY", "min",
           _("Credit for the unused part of a plan: time | data | min (the smaller of the two).")),
    # SMS and e-mail providers.
    Option("ESIMDESK_TWILIO_ACCOUNT_SID", "",
           _("Twilio account SID (ESIMDESK_SMS_BACKEND=twilio).")),
    Option("ESIMDESK_TWILIO_AUTH_TOKEN", "", _("Twilio auth token."), secret=True),
    Option("ESIMDESK_TWILIO_FROM", "", _("Twilio sender: phone number or messaging service SID.")),
    Option("ESIMDESK_TWILIO_API_BASE", "https://api.twilio.com", _("Twilio API base URL.")),
    Option("ESIMDESK_REFUND_WINDOW_DAYS", "14",
           _("Days in which a traveller may refund a plan never installed or started.")),
    # Staff roles (docs/staff-console.md): what each role may do without an admin.
    Option("ESIMDESK_REFUND_LIMIT_FINANCE", "USD 200,EUR 200,GBP 200,SGD 300,HKD 1500,"
           "CNY 1500,JPY 30000,KRW 300000",
           _("Most the finance role may refund of one payment, per currency (major units); "
           "a currency not listed needs an admin.")),
    Option("ESIMDESK_REFUND_LIMIT_ADMIN", "",
           _("The same for the admin role; empty = no limit.")),
    Option("ESIMDESK_GOODWILL_DAYS_AGENT", "7",
           _("Most days an agent may extend a plan by as goodwill, per extension.")),
    Option("ESIMDESK_GOODWILL_DAYS_ADMIN", "90", _("The same for the admin role.")),
    # Payment providers (enable with ESIMDESK_PAYMENT_PROVIDERS; docs/providers/*.md).
    Option("ESIMDESK_STRIPE_SECRET_KEY", "", _("Stripe secret key (sk_live_… / sk_test_…)."),
           secret=True),
    Option("ESIMDESK_STRIPE_WEBHOOK_SECRET", "", _("Stripe endpoint signing secret (whsec_…)."),
           secret=True),
    Option("ESIMDESK_STRIPE_API_BASE", "https://api.stripe.com", _("Stripe API base URL.")),
    Option("ESIMDESK_STRIPE_CURRENCIES", "USD,EUR,HKD,CNY,GBP,JPY,SGD,KRW",
           _("Currencies accepted by card.")),
    Option("ESIMDESK_STRIPE_WALLETS", "0", _("1 offers Apple Pay and Google Pay on Stripe "
           "Checkout: the page shows what the payment method configuration below (or the "
           "account's default one) turns on, instead of cards only (docs/providers/stripe.md).")),
    Option("ESIMDESK_STRIPE_PAYMENT_METHOD_CONFIGURATION", "", _("With wallets on: the Stripe "
           "payment method configuration (pmc_…) in which Cards, Apple Pay and Google Pay are "
           "turned on; empty = the account's default configuration.")),
    Option("ESIMDESK_PAYPAL_CLIENT_ID", "", _("PayPal REST app client id.")),
    Option("ESIMDESK_PAYPAL_CLIENT_SECRET", "", _("PayPal REST app secret."), secret=True),
    Option("ESIMDESK_PAYPAL_WEBHOOK_ID", "", _("PayPal webhook id (for signature verification).")),
    Option("ESIMDESK_PAYPAL_API_BASE", "https://api-m.sandbox.paypal.com",
           _("PayPal API base URL (https://api-m.paypal.com for live).")),
    Option("ESIMDESK_PAYPAL_CURRENCIES", "USD,EUR,HKD,GBP,JPY,SGD", _("Currencies PayPal takes.")),
    Option("ESIMDESK_PAYPAL_VAULT", "", _("1 once PayPal enabled vaulting for the app: offer "
           "saving PayPal for auto-renew.")),
    Option("ESIMDESK_ALIPAY_APP_ID", "", _("Alipay open platform app id.")),
    Option("ESIMDESK_ALIPAY_PRIVATE_KEY", "", _("App private key (PEM text or a file path)."),
           secret=True),
    Option("ESIMDESK_ALIPAY_PUBLIC_KEY", "", _("Alipay public key (PEM text or a file path).")),
    Option("ESIMDESK_ALIPAY_GATEWAY", "https://openapi.alipay.com/gateway.do",
           _("Alipay gateway URL (openapi-sandbox.dl.alipaydev.com for the sandbox).")),
    Option("ESIMDESK_ALIPAY_CURRENCIES", "CNY", _("Currencies Alipay takes.")),
    Option("ESIMDESK_WECHATPAY_MCHID", "", _("WeChat Pay merchant id.")),
    Option("ESIMDESK_WECHATPAY_APPID", "", _("WeChat app id bound to the merchant.")),
    Option("ESIMDESK_WECHATPAY_PRIVATE_KEY", "", _("Merchant API private key (PEM or path)."),
           secret=True),
    Option("ESIMDESK_WECHATPAY_CERT_SERIAL", "", _("Serial number of the merchant certificate.")),
    Option("ESIMDESK_WECHATPAY_APIV3_KEY", "", _("APIv3 key (32 bytes)."), secret=True),
    Option("ESIMDESK_WECHATPAY_API_BASE", "https://api.mch.weixin.qq.com",
           _("WeChat Pay API base URL.")),
    Option("ESIMDESK_WECHATPAY_CURRENCIES", "CNY", _("Currencies WeChat Pay takes.")),
    Option("ESIMDESK_WECHATPAY_PUBLIC_KEY", "",
           _("WeChat Pay public key (merchants without platform certificates).")),
    Option("ESIMDESK_WECHATPAY_PUBLIC_KEY_ID", "", _("Id of that public key (PUB_KEY_ID_…).")),
)


def help_text(option: Option) -> str:
    """``option``'s help in the active language, for the pages staff read (the console's
    supplier page and settings form); the declaration keeps the English."""
    return gettext(option.help) if option.help else ""


def env_list(name: str) -> list[str]:
    """A comma-separated option as a list of upper-case codes."""
    return [item.strip().upper() for item in env(name).split(",") if item.strip()]


def env_text_or_file(name: str) -> str:
    """A PEM key given inline or as a path to a file."""
    value = env(name).strip()
    try:
        is_file = bool(value) and not value.startswith("-----") and Path(value).is_file()
    except OSError:  # bare base64 key text is too long to be a file name
        is_file = False
    if is_file:
        return Path(value).read_text()
    return value.replace("\\n", "\n")


# Options staff may also set in the console (encrypted in the database; see
# core.console_settings). A value set there wins over the environment. The suppliers'
# settings are here as the payment providers' are: adapters are made per call
# (provisioning.registry.get), so a change reaches the next call.
CONSOLE_PREFIXES = ("ESIMDESK_PAYMENT_PROVIDERS", "ESIMDESK_STRIPE_", "ESIMDESK_PAYPAL_",
                    "ESIMDESK_ALIPAY_", "ESIMDESK_WECHATPAY_", "ESIMDESK_ES2PLUS_",
                    "ESIMDESK_ESIMGO_")
#: Options whose value may run over several lines: PEM certificates and keys (text or a
#: file path). The console gives them a large text box; any other option takes one line
#: (the ES2+ ICCID pool is the path of a file, one ICCID a line, not the list itself).
MULTILINE_SUFFIXES = ("_CERT", "_KEY", "_CA")
#: ...except keys that are one token, never PEM.
SINGLE_LINE_SUFFIXES = ("_API_KEY", "_APIV3_KEY", "_SECRET_KEY")
_console_lookup: Callable[[str], str | None] | None = None


def set_console_lookup(lookup: Callable[[str], str | None] | None) -> None:
    """Installed by the core app once the database is available."""
    global _console_lookup
    _console_lookup = lookup


def console_editable(name: str) -> bool:
    if name.startswith(CONSOLE_PREFIXES):
        return True
    declared = option(name)
    return declared is not None and declared.console


def multiline(name: str) -> bool:
    """Whether option ``name`` takes text over several lines (a PEM block, a list)."""
    return name.endswith(MULTILINE_SUFFIXES) and not name.endswith(SINGLE_LINE_SUFFIXES)


def console_options() -> tuple[Option, ...]:
    """Every declared option staff may set in the console (the platform's own and the
    adapters'), in declaration order."""
    return tuple(option for option in options() if console_editable(option.name))


def console_value(name: str) -> str | None:
    """The staff console's value of a provider option, if staff set one."""
    if _console_lookup is None or not console_editable(name):
        return None
    return _console_lookup(name)


_option_sources: list[Callable[[], Iterable[Option]]] = []
_declared: dict[str, Option] | None = None


def add_option_source(source: Callable[[], Iterable[Option]]) -> None:
    """A registry of adapters that declare their own options (suppliers, payment
    providers): ``source()`` yields them. Called by the app owning the registry in its
    ``AppConfig.ready``; the registry calls ``forget_declared`` when an adapter joins."""
    _option_sources.append(source)
    forget_declared()


def forget_declared() -> None:
    global _declared
    _declared = None


def declared_options() -> tuple[Option, ...]:
    """Options the adapters in the registries declare (not the platform's own)."""
    global _declared
    if _declared is None:
        own = {option.name for option in OPTIONS}
        found: dict[str, Option] = {}
        for source in _option_sources:
            for option in source():
                if option.name not in own:
                    found.setdefault(option.name, option)
        _declared = found
    return tuple(_declared.values())


def options() -> tuple[Option, ...]:
    """Every declared option: the platform's own, then the adapters'."""
    return (*OPTIONS, *declared_options())


def option(name: str) -> Option | None:
    for candidate in OPTIONS:
        if candidate.name == name:
            return candidate
    declared_options()
    return (_declared or {}).get(name)


def env(name: str) -> str:
    """The value of one declared option: the staff console's (for provider options), then
    the environment, then its default."""
    declared = option(name)
    if declared is None:
        raise KeyError(f"undeclared option {name}")
    value = console_value(name)
    if value is not None:
        return value
    return os.environ.get(name, declared.default)


def flag(name: str) -> bool:
    return env(name).strip().lower() in {"1", "true", "yes", "on"}


def data_dir() -> Path:
    path = Path(env("ESIMDESK_DATA_DIR")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


class ConfigurationError(RuntimeError):
    """Raised when the configuration is unsafe or incomplete."""


def proxy_ssl_header() -> tuple[str, str] | None:
    """Django's SECURE_PROXY_SSL_HEADER from ``ESIMDESK_PROXY_SSL_HEADER``:
    ``Name`` (value ``https``) or ``Name=value``."""
    raw = env("ESIMDESK_PROXY_SSL_HEADER").strip()
    if not raw:
        return None
    name, _sep, value = raw.partition("=")
    name, value = name.strip(), (value.strip() or "https")
    if not name or not all(ch.isalnum() or ch == "-" for ch in name):
        raise ConfigurationError(f"ESIMDESK_PROXY_SSL_HEADER: {raw!r} is not a header name "
                                 "(e.g. X-Forwarded-Proto or X-Forwarded-Ssl=on)")
    return "HTTP_" + name.upper().replace("-", "_"), value


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
