"""Every option the ES2+ adapter reads (docs/providers/es2plus.md explains each)."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from esimdesk.config import Option

OPTIONS = (
    Option("ESIMDESK_ES2PLUS_URL", "",
           gettext_noop("SM-DP+ ES2+ base URL, e.g. https://smdp.example.com (without "
                        "/gsma/rsp2/es2plus).")),
    Option("ESIMDESK_ES2PLUS_REQUESTER_ID", "",
           gettext_noop("functionRequesterIdentifier (your operator id).")),
    Option("ESIMDESK_ES2PLUS_PROFILE_TYPE", "",
           gettext_noop("profileType to order for a plan that maps no ES2+ bundle (a plan's ES2+ "
                        "bundle code is its profileType).")),
    Option("ESIMDESK_ES2PLUS_ICCIDS", "",
           gettext_noop("Pre-provisioned ICCIDs to order from (a file path, one per line), when "
                        "the SM-DP+ does not pick them.")),
    Option("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "",
           gettext_noop("SM-DP+ address (host name) for activation codes when confirmOrder answers "
                        "none; default: the URL's host, if a host name.")),
    Option("ESIMDESK_ES2PLUS_CLIENT_CERT", "",
           gettext_noop("Client certificate for mutual TLS: a PEM file path or the PEM text.")),
    Option("ESIMDESK_ES2PLUS_CLIENT_KEY", "",
           gettext_noop("Client key for mutual TLS: a PEM file path or the PEM "
                        "text."), secret=True),
    Option("ESIMDESK_ES2PLUS_CLIENT_KEY_PASSPHRASE", "",
           gettext_noop("Passphrase of an encrypted client key."), secret=True),
    Option("ESIMDESK_ES2PLUS_CA", "",
           gettext_noop("CA certificate(s) that issued the SM-DP+'s server certificate: a PEM file "
                        "path or the PEM text (default: the system store).")),
    Option("ESIMDESK_ES2PLUS_TLS_MIN_VERSION", "1.2",
           gettext_noop("Lowest TLS version offered: 1.2 or 1.3.")),
    Option("ESIMDESK_ES2PLUS_TIMEOUT_SECONDS", "20",
           gettext_noop("Seconds to connect, and to wait for each answer.")),
    Option("ESIMDESK_ES2PLUS_SMDS_ADDRESS", "",
           gettext_noop("SM-DS address sent with confirmOrder when the device's EID is known (the "
                        "SM-DP+ registers the download there).")),
    Option("ESIMDESK_ES2PLUS_MATCHING_IDS", "0",
           gettext_noop("1: esimdesk makes each order's matchingId and sends it with confirmOrder; "
                        "0: the SM-DP+ makes it.")),
    Option("ESIMDESK_ES2PLUS_CONFIRMATION_CODES", "0",
           gettext_noop("1: each order gets a confirmation code (sent with confirmOrder, shown to "
                        "the customer beside the activation code).")),
    # How the SM-DP+ proves who it is when it calls esimdesk back (docs/providers/es2plus.md).
    # Every credential configured is required; with none, every callback is refused.
    Option("ESIMDESK_ES2PLUS_CALLBACK_TOKEN", "", gettext_noop("Bearer secret the SM-DP+ sends in "
           "'Authorization: Bearer ...' on its callbacks."), secret=True),
    Option("ESIMDESK_ES2PLUS_CALLBACK_CERT_SUBJECT", "",
           gettext_noop("Subject DN of the SM-DP+'s client certificate, as the TLS proxy passes it "
                        "(e.g. CN=smdp.example.com,O=Example).")),
    Option("ESIMDESK_ES2PLUS_CALLBACK_CERT_FINGERPRINT", "",
           gettext_noop("SHA-1 fingerprint(s) of the SM-DP+'s client certificate, hex, "
                        "comma-separated (colons ignored).")),
)
