"""WeChat Pay API v3 cryptography: request signing, response/notify verification, AES-GCM
decryption with the APIv3 key, and the per-process cache of platform certificate keys.

Kept apart from ``wechatpay.py`` so the adapter reads as the business flow. Nothing here does
I/O; the adapter downloads the certificate list and hands it to ``certificate_keys``. The
``configured_*`` functions read and check the key material from ``config``.
Failures of a message are ``SignatureError`` with the codes esimdesk logs: ``bad_signature``,
``stale_signature``, ``unknown_serial``, ``bad_resource``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from esimdesk import config
from esimdesk.payments.providers.base import NotConfigured, SignatureError

SCHEME = "WECHATPAY2-SHA256-RSA2048"
AEAD = "AEAD_AES_256_GCM"
# A forged notify with a made-up serial must not make us hammer /v3/certificates: the list
# is downloaded at most this often per process, whether the last download brought
# certificates, none (a public-key merchant) or failed.
REFRESH_INTERVAL = dt.timedelta(seconds=60)
# What well-formed signature headers look like (checked before any key is looked up).
_TIMESTAMP = re.compile(r"\d{1,12}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SERIAL = re.compile(r"[0-9A-Fa-f]{1,64}|PUB_KEY_ID_[0-9A-Za-z_]{1,64}")
_SIGNATURE_CHARS = 2048  # base64 of a 4096-bit RSA signature is 684

PlatformKeys = dict[int, rsa.RSAPublicKey]  # certificate serial number -> public key


@functools.lru_cache(maxsize=8)
def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """The merchant API private key (``apiclient_key.pem``, PKCS#8). The merchant platform
    also hands out the bare base64 body, so a key without PEM armour is wrapped first.
    Cached: loading checks the key (~30 ms) and the registry builds an adapter per use."""
    text = pem.strip()
    if not text.startswith("-----"):
        text = f"-----BEGIN PRIVATE KEY-----\n{text}\n-----END PRIVATE KEY-----"
    key = serialization.load_pem_private_key(text.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


@functools.lru_cache(maxsize=8)
def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """A WeChat Pay platform public key (``pub_key.pem``), PEM armour optional."""
    text = pem.strip()
    if not text.startswith("-----"):
        text = f"-----BEGIN PUBLIC KEY-----\n{text}\n-----END PUBLIC KEY-----"
    key = serialization.load_pem_public_key(text.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def configured_private_key() -> rsa.RSAPrivateKey:
    try:
        return load_private_key(_pem_option("ESIMDESK_WECHATPAY_PRIVATE_KEY"))
    except (ValueError, TypeError) as error:
        raise NotConfigured("ESIMDESK_WECHATPAY_PRIVATE_KEY is not an RSA private key (PEM)",
                            code="not_configured") from error


def configured_apiv3_key() -> bytes:
    key = config.env("ESIMDESK_WECHATPAY_APIV3_KEY").strip().encode()
    if len(key) != 32:
        raise NotConfigured("ESIMDESK_WECHATPAY_APIV3_KEY must be the 32-character APIv3 key",
                            code="not_configured")
    return key


def configured_public_key() -> tuple[str, rsa.RSAPublicKey] | None:
    """(public key id, key) for merchants on WeChat Pay public keys, when configured."""
    try:
        pem = _pem_option("ESIMDESK_WECHATPAY_PUBLIC_KEY")
        key_id = config.env("ESIMDESK_WECHATPAY_PUBLIC_KEY_ID").strip()
    except KeyError:  # not declared in config.py (yet)
        return None
    if not (pem and key_id):
        return None
    try:
        return key_id, load_public_key(pem)
    except ValueError as error:
        raise NotConfigured("ESIMDESK_WECHATPAY_PUBLIC_KEY is not an RSA public key (PEM)",
                            code="not_configured") from error


def _pem_option(name: str) -> str:
    try:
        return config.env_text_or_file(name)
    except OSError:  # bare base64 key text is too long to be tried as a file name
        return config.env(name).strip()


def nonce() -> str:
    return secrets.token_hex(16).upper()


def authorization(*, method: str, path: str, body: bytes, mchid: str, serial: str,
                  key: rsa.RSAPrivateKey, timestamp: int, nonce_str: str) -> str:
    """The ``Authorization`` header: RSA-SHA256 (PKCS#1 v1.5) over
    ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n``, exactly the bytes sent."""
    message = f"{method}\n{path}\n{timestamp}\n{nonce_str}\n".encode() + body + b"\n"
    signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256()))
    return (f'{SCHEME} mchid="{mchid}",nonce_str="{nonce_str}",'
            f'signature="{signature.decode()}",timestamp="{timestamp}",serial_no="{serial}"')


def verify(key: rsa.RSAPublicKey, *, timestamp: str, nonce_str: str, body: bytes,
           signature: str) -> bool:
    """Whether ``signature`` signs ``TIMESTAMP\\nNONCE\\nBODY\\n`` (the raw body bytes)."""
    message = f"{timestamp}\n{nonce_str}\n".encode() + body + b"\n"
    try:
        key.verify(base64.b64decode(signature, validate=True), message, padding.PKCS1v15(),
                   hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def decrypt(apiv3_key: bytes, *, nonce_str: str, associated_data: str,
            ciphertext: str) -> bytes:
    """AEAD_AES_256_GCM as WeChat uses it: nonce and associated data are the UTF-8 bytes of
    the given strings, the ciphertext is base64 with the 16-byte tag appended. Raises
    ``ValueError`` when the tag does not verify (wrong key, tampered data)."""
    try:
        return AESGCM(apiv3_key).decrypt(nonce_str.encode(),
                                         base64.b64decode(ciphertext, validate=True),
                                         associated_data.encode())
    except (InvalidTag, binascii.Error) as error:
        raise ValueError("resource does not decrypt with the APIv3 key") from error


def verify_message(headers: Mapping[str, str], body: bytes,
                   key_for: Callable[[str], rsa.RSAPublicKey], *, now: dt.datetime,
                   tolerance: int) -> None:
    """Check a signed answer or notify, cheapest first: signature headers present and
    well-formed, timestamp within ``tolerance`` seconds of ``now``, a known serial
    (``key_for`` raises ``SignatureError`` otherwise, and may have to download the platform
    certificates: nothing malformed or stale gets that far), and a signature that
    verifies."""
    found = wechatpay_headers(headers)
    timestamp, nonce_str = found.get("timestamp", ""), found.get("nonce", "")
    signature, serial = found.get("signature", ""), found.get("serial", "")
    if not (timestamp and nonce_str and signature and serial):
        raise SignatureError("Wechatpay-* signature headers missing", code="bad_signature")
    if found.get("signature-type", SCHEME) != SCHEME:
        raise SignatureError("unsupported signature type", code="bad_signature")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("malformed Wechatpay-Timestamp", code="bad_signature")
    if not _NONCE.fullmatch(nonce_str) or not _SERIAL.fullmatch(serial) \
            or not _is_base64(signature):
        raise SignatureError("malformed Wechatpay-Nonce, -Serial or -Signature",
                             code="bad_signature")
    age = abs(now.timestamp() - int(timestamp))
    if age > tolerance:
        raise SignatureError(f"signature timestamp {int(age)} s away from now",
                             code="stale_signature")
    if not verify(key_for(serial), timestamp=timestamp, nonce_str=nonce_str, body=body,
                  signature=signature):
        raise SignatureError("signature does not verify", code="bad_signature")


def _is_base64(value: str) -> bool:
    if len(value) > _SIGNATURE_CHARS:
        return False
    try:
        return len(base64.b64decode(value, validate=True)) >= 64
    except (binascii.Error, ValueError):
        return False


def wechatpay_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``Wechatpay-*`` headers by lower-case suffix, whatever the spelling (HTTP/2 lower
    case, Django's ``HTTP_WECHATPAY_…`` META names)."""
    found = {}
    for name, value in headers.items():
        key = name.lower().replace("_", "-").removeprefix("http-")
        if key.startswith("wechatpay-"):
            found[key.removeprefix("wechatpay-")] = str(value).strip()
    return found


def decrypt_resource(resource: Any, apiv3_key: bytes) -> dict[str, Any]:
    """The plaintext JSON object of a notify's ``resource``; ``SignatureError``
    (``bad_resource``) if it is not AEAD_AES_256_GCM or does not decrypt to an object."""
    if not isinstance(resource, Mapping) or resource.get("algorithm") != AEAD:
        raise SignatureError("notify without an AEAD_AES_256_GCM resource", code="bad_resource")
    try:
        plain = decrypt(apiv3_key, nonce_str=str(resource["nonce"]),
                        associated_data=str(resource.get("associated_data", "")),
                        ciphertext=str(resource["ciphertext"]))
        data = json.loads(plain)
    except (KeyError, ValueError) as error:
        raise SignatureError("resource does not decrypt with the APIv3 key",
                             code="bad_resource") from error
    if not isinstance(data, dict):
        raise SignatureError("resource is not a JSON object", code="bad_resource")
    return data


def certificate_keys(items: list[Any], apiv3_key: bytes, now: dt.datetime) -> PlatformKeys:
    """Decrypt the ``data`` of ``GET /v3/certificates`` into serial -> public key, keeping
    only certificates valid at ``now``. Raises ``ValueError`` if one does not decrypt: the
    APIv3 key is wrong (or the list is forged), and nothing in it can be trusted."""
    keys: PlatformKeys = {}
    for item in items:
        sealed = item.get("encrypt_certificate") if isinstance(item, Mapping) else None
        if not isinstance(sealed, Mapping) or sealed.get("algorithm") != AEAD:
            continue
        pem = decrypt(apiv3_key, nonce_str=str(sealed.get("nonce", "")),
                      associated_data=str(sealed.get("associated_data", "")),
                      ciphertext=str(sealed.get("ciphertext", "")))
        certificate = x509.load_pem_x509_certificate(pem)
        public_key = certificate.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            continue
        if certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            keys[certificate.serial_number] = public_key
    return keys


def find(keys: PlatformKeys, serial: str) -> rsa.RSAPublicKey | None:
    """The key for a ``Wechatpay-Serial`` header (hex, any case) in ``keys``."""
    try:
        return keys.get(int(serial, 16))
    except ValueError:
        return None


@dataclass
class _Entry:
    keys: PlatformKeys = field(default_factory=dict)
    refreshed_at: dt.datetime | None = None


# Module-level: the registry builds a new adapter per use, the certificates live for years.
_cache: dict[tuple[str, str], _Entry] = {}
_lock = threading.Lock()


def cached_key(scope: tuple[str, str], serial: str) -> rsa.RSAPublicKey | None:
    with _lock:
        entry = _cache.get(scope)
        return find(entry.keys, serial) if entry else None


def claim_refresh(scope: tuple[str, str], now: dt.datetime) -> bool:
    """Whether the caller may download the certificate list now (and record that it does):
    at most once per ``REFRESH_INTERVAL``, also while we hold no certificate (a forged
    serial must not turn every message into a download when the list is empty or
    unreachable)."""
    with _lock:
        entry = _cache.setdefault(scope, _Entry())
        if entry.refreshed_at and abs(now - entry.refreshed_at) < REFRESH_INTERVAL:
            return False
        entry.refreshed_at = now
        return True


def holds_keys(scope: tuple[str, str]) -> bool:
    with _lock:
        entry = _cache.get(scope)
        return bool(entry and entry.keys)


def store_keys(scope: tuple[str, str], keys: PlatformKeys) -> None:
    """Replace the set: WeChat lists every certificate it may sign with (old and new during
    a rotation), so one it no longer lists is no longer trusted."""
    with _lock:
        _cache.setdefault(scope, _Entry()).keys = dict(keys)


def clear_certificate_cache() -> None:
    with _lock:
        _cache.clear()
