"""Every option the ES2+ adapter reads (docs/providers/es2plus.md explains each)."""

from __future__ import annotations

from esimdesk.config import Option

OPTIONS = (
    Option("ESIMDESK_ES2PLUS_URL", "",
           "SM-DP+ ES2+ base URL, e.g. https://smdp.example.com (without /gsma/rsp2/es2plus)."),
    Option("ESIMDESK_ES2PLUS_REQUESTER_ID", "",
           "functionRequesterIdentifier (your operator id)."),
    Option("ESIMDESK_ES2PLUS_PROFILE_TYPE", "", "profileType to order for a plan that maps no "
           "ES2+ bundle (a plan's ES2+ bundle code is its profileType)."),
    Option("ESIMDESK_ES2PLUS_ICCIDS", "", "Pre-provisioned ICCIDs to order from (a file path, "
           "one per line), when the SM-DP+ does not pick them."),
    Option("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "", "SM-DP+ address (host name) for activation "
           "codes when confirmOrder answers none; default: the URL's host, if a host name."),
    Option("ESIMDESK_ES2PLUS_CLIENT_CERT", "", "Client certificate for mutual TLS: a PEM file "
           "path or the PEM text."),
    Option("ESIMDESK_ES2PLUS_CLIENT_KEY", "", "Client key for mutual TLS: a PEM file path or "
           "the PEM text.", secret=True),
    Option("ESIMDESK_ES2PLUS_CLIENT_KEY_PASSPHRASE", "", "Passphrase of an encrypted client "
           "key.", secret=True),
    Option("ESIMDESK_ES2PLUS_CA", "", "CA certificate(s) that issued the SM-DP+'s server "
           "certificate: a PEM file path or the PEM text (default: the system store)."),
    Option("ESIMDESK_ES2PLUS_TLS_MIN_VERSION", "1.2", "Lowest TLS version offered: 1.2 or 1.3."),
    Option("ESIMDESK_ES2PLUS_TIMEOUT_SECONDS", "20", "Seconds to connect, and to wait for each "
           "answer."),
    Option("ESIMDESK_ES2PLUS_SMDS_ADDRESS", "", "SM-DS address sent with confirmOrder when the "
           "device's EID is known (the SM-DP+ registers the download there)."),
    Option("ESIMDESK_ES2PLUS_MATCHING_IDS", "0", "1: esimdesk makes each order's matchingId "
           "and sends it with confirmOrder; 0: the SM-DP+ makes it."),
    Option("ESIMDESK_ES2PLUS_CONFIRMATION_CODES", "0", "1: each order gets a confirmation code "
           "(sent with confirmOrder, shown to the customer beside the activation code)."),
    # How the SM-DP+ proves who it is when it calls esimdesk back (docs/providers/es2plus.md).
    # Every credential configured is required; with none, every callback is refused.
    Option("ESIMDESK_ES2PLUS_CALLBACK_TOKEN", "", "Bearer secret the SM-DP+ sends in "
           "'Authorization: Bearer ...' on its callbacks.", secret=True),
    Option("ESIMDESK_ES2PLUS_CALLBACK_CERT_SUBJECT", "", "Subject DN of the SM-DP+'s client "
           "certificate, as the TLS proxy passes it (e.g. CN=smdp.example.com,O=Example)."),
    Option("ESIMDESK_ES2PLUS_CALLBACK_CERT_FINGERPRINT", "", "SHA-1 fingerprint(s) of the "
           "SM-DP+'s client certificate, hex, comma-separated (colons ignored)."),
)
