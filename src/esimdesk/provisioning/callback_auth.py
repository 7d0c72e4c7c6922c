"""Credentials a supplier presents on its callbacks where the protocol signs nothing (ES2+):
a bearer secret, or a client certificate that the TLS proxy in front of esimdesk verified and
passes on in request headers.

Those headers are believed only on a request whose TCP peer (``REMOTE_ADDR``) is one of
``ESIMDESK_TRUSTED_PROXIES``: anyone who reaches esimdesk some other way (the web port
exposed, a second proxy that does not overwrite the headers) could send the same headers
with any value. Secrets are compared in constant time. Nothing here reads the database.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from esimdesk import config
from esimdesk.core.http import is_trusted_proxy
from esimdesk.provisioning.suppliers.base import header


def bearer_matches(headers: Mapping[str, str], secret: str) -> bool:
    """Whether ``Authorization: Bearer <secret>`` was sent (``secret`` must not be empty)."""
    scheme, _, token = header(headers, "Authorization").strip().partition(" ")
    if not secret or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), secret.encode())


def fingerprint(value: str) -> str:
    """A certificate fingerprint however it is written: hex, any case, colons or not."""
    return value.strip().replace(":", "").lower()


def certificate_problem(headers: Mapping[str, str], remote_addr: str, *, subject: str,
                        fingerprints: frozenset[str]) -> str:
    """Why the client certificate the proxy reports is not the one expected ('' if it is).

    The proxy must have verified it (``SUCCESS`` in the verify header) and it must carry the
    configured subject and/or one of the configured fingerprints: a certificate merely
    chaining to a CA the proxy trusts is not enough, that CA may have certified others."""
    if not subject and not fingerprints:
        return "no client certificate is configured"
    if not is_trusted_proxy(remote_addr):
        return f"certificate headers from {remote_addr or 'an unknown peer'}, not a trusted proxy"
    verified = header(headers, config.env("ESIMDESK_CLIENT_CERT_VERIFY_HEADER")).strip()
    if verified != "SUCCESS":
        return "the proxy did not verify a client certificate"
    if subject:
        presented = header(headers, config.env("ESIMDESK_CLIENT_CERT_SUBJECT_HEADER")).strip()
        if not hmac.compare_digest(presented.encode(), subject.encode()):
            return "the client certificate's subject is not the configured one"
    if fingerprints:
        presented = fingerprint(
            header(headers, config.env("ESIMDESK_CLIENT_CERT_FINGERPRINT_HEADER")))
        if not presented or presented not in fingerprints:
            return "the client certificate's fingerprint is not a configured one"
    return ""
