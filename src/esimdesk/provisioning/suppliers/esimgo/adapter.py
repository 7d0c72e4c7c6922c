"""eSIM Go (API v2.5), a wholesale reseller: profiles and bundles bought over HTTPS.

- ``order_profile``: ``POST /orders`` (transaction, assign, no ICCID: a new eSIM with the
  bundle); the ICCID, SM-DP+ address and matching id come in the answer's
  ``order[].esims[]``, else from ``GET /esims/assignments?reference=<orderReference>``.
- ``apply_plan``: ``POST /orders`` with the ICCID in the order item (eSIM Go queues the bundle
  after the running one).
- ``balance``: ``GET /esims/{iccid}/bundles``; reconciliation only (eSIM Go rate-limits and
  caches that read).
- ``suspend`` / ``resume``: ``POST /esims/{iccid}/suspend`` with ``{"suspend": true|false}``.
- ``revoke``: the eSIM is suspended, every live bundle assignment revoked (``DELETE
  /esims/{iccid}/bundles/{name}/assignments/{id}``, refunded to the balance where eSIM Go
  allows it), then eSIM Go is asked again: success only once no live bundle is left. An
  uninstalled eSIM left with no bundle goes back to eSIM Go and leaves the account; that
  counts as revoked.
- ``check_connection``: ``GET /organisation`` (the key, the URL, TLS; changes nothing).
- ``parse_callback``: the signed usage and status callbacks (``esimgo_callbacks``).

eSIM Go takes no client reference on an order, so idempotency lives in ``EsimGoOrder``
(its states are documented there): the row is written before the order is sent, and a row
whose last order got no clear answer looks for that order in ``GET /orders`` before it
orders again. HTTP and error codes: ``client``. See docs/providers/esimgo.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext_noop

from esimdesk import config
from esimdesk.config import Option
from esimdesk.provisioning import supplier_actions
from esimdesk.provisioning.models import EsimGoOrder, SupplierAction
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    InvalidCallback,
    PlanApplication,
    PossiblyAllocated,
    ProfileOrder,
    ProfileStatus,
    ProfileStatusEvent,
    RetryableUpstreamError,
    UpstreamEvent,
    UpstreamProvider,
    UsageRecord,
    header,
)
from esimdesk.provisioning.suppliers.esimgo.client import (
    EsimGoClient,
    Refused,
    one_line,
    quantity,
    records,
)
from esimdesk.provisioning.suppliers.esimgo.ordering import (
    BUNDLES,
    Ordering,
    bundle_for,
    clean_iccid,
    still_possibly_allocated,
)

__all__ = ["BUNDLES", "SIGNATURE_HEADER", "EsimGoProvider", "bundle_for", "callback_key",
           "callback_signature", "clean_iccid"]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature-SHA256"
# eSIM Go's profile statuses in esimdesk's words. Its "Enabled" is not proof of use (the
# FirstUse alert is), so it counts as installed, like Downloaded.
_PROFILE_STATUS = {"downloaded": ProfileStatus.INSTALLED, "installed": ProfileStatus.INSTALLED,
                   "enabled": ProfileStatus.INSTALLED, "disabled": ProfileStatus.DISABLED,
                   "deleted": ProfileStatus.DELETED}
# Assignments in these states hold nothing a revoke could take away.
_FINISHED = frozenset({"expired", "depleted", "revoked", "lapsed", "refunded"})


class EsimGoProvider(UpstreamProvider):
    name = "esimgo"
    reports_first_use = True
    label = "eSIM Go"
    options = (
        # eSIM Go (wholesale reseller API v2.5).
        Option("ESIMDESK_ESIMGO_API_KEY", "",
               gettext_noop("eSIM Go API key (portal: 'Account Settings -> API "
                            "Details')."), secret=True),
        Option("ESIMDESK_ESIMGO_API_BASE", "https://api.esim-go.com/v2.5",
               gettext_noop("eSIM Go API base URL.")),
        Option("ESIMDESK_ESIMGO_CALLBACK_SECRET", "",
               gettext_noop("Key eSIM Go signs callbacks with (HMAC); empty: the API key, which is "
                            "what eSIM Go signs with."), secret=True),
        Option("ESIMDESK_ESIMGO_TIMEOUT_SECONDS", "30",
               gettext_noop("Seconds to wait for an eSIM Go answer (connecting: at most 5).")),
    )
    callback_handlers = {"": "esimdesk.provisioning.suppliers.esimgo.callbacks.esimgo_callback"}

    def __init__(self) -> None:
        # Nothing is checked here: receiving callbacks needs no outbound configuration, and
        # a misconfiguration is reported, typed, by the first call that needs it.
        self.client = EsimGoClient()
        self.orders = Ordering(self.client)

    @classmethod
    def possibly_allocated(cls, now: dt.datetime) -> PossiblyAllocated:
        """Orders sent whose answer was lost and that no retry has found or sent again
        (``ordering.still_possibly_allocated``)."""
        return PossiblyAllocated(*still_possibly_allocated(now))

    def _call(self, method: str, path: str, *, json: Any = None,
              params: dict[str, str] | None = None) -> Any:
        return self.client.call(method, path, json=json, params=params)

    # -- connection -----------------------------------------------------------------------

    def check_connection(self) -> str:
        """A live handshake that changes nothing: ``GET /organisation``. Returns one line
        naming the account; raises an ``UpstreamError`` whose message says what is wrong."""
        try:
            answer = self._call("GET", "/organisation")
        except Refused as error:
            if error.status == 403:
                raise FinalUpstreamError(
                    f"eSIM Go refused this API key (403: {error.detail}): check the key and the "
                    "portal's IP allow-list", code="esimgo_misconfigured") from error
            if error.status == 404:
                raise FinalUpstreamError(
                    f"eSIM Go has no /organisation at {self.client.base} (404): check "
                    "ESIMDESK_ESIMGO_API_BASE", code="esimgo_misconfigured") from error
            raise
        organisations = records(answer, "organisations")
        if not organisations:
            raise RetryableUpstreamError("eSIM Go answered without an organisation",
                                         code="esimgo_bad_response")
        account = organisations[0]
        return (f"eSIM Go {self.client.base}: organisation "
                f"{one_line(str(account.get('name') or '?'), 60)}, balance "
                f"{one_line(str(account.get('balance', '?')), 20)} "
                f"{one_line(str(account.get('currency') or ''), 3)}".rstrip())

    # -- ordering -------------------------------------------------------------------------

    def order_profile(self, *, reference: str, plan_code: str) -> ProfileOrder:
        row = self.orders.row(reference=reference, kind="profile", plan_code=plan_code)
        if row.state != EsimGoOrder.State.READY:
            self.orders.ensure_ordered(row)
        if row.state != EsimGoOrder.State.READY:
            self.orders.fetch_assignment(row)
        return ProfileOrder(iccid=row.iccid, smdp_address=row.smdp_address,
                            matching_id=row.matching_id,
                            upstream_reference=row.order_reference)

    def apply_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        row = self.orders.row(reference=reference, kind="plan", plan_code=plan_code,
                              target_iccid=iccid)
        self.orders.ensure_ordered(row)
        return PlanApplication(iccid=iccid, plan_code=row.plan_code,
                               upstream_reference=row.order_reference)


    def balance(self, iccid: str, *, kind: str = "data", since: dt.datetime | None = None,
                until: dt.datetime | None = None) -> int:
        """Bytes used on ``iccid`` by eSIM Go's books: initial minus remaining over the
        bundles assigned within ``[since, until)`` (eSIM Go meters per bundle, not per
        hour). Only data is metered."""
        if kind != "data":
            return 0
        answer = self._call("GET", f"/esims/{quote(iccid)}/bundles")
        used = 0
        for bundle in records(answer, "bundles"):
            for assignment in records(bundle, "assignments"):
                at = _time(assignment.get("assignmentDateTime"))
                if at is not None and ((since is not None and at < since)
                                       or (until is not None and at >= until)):
                    continue
                initial = quantity(assignment.get("initialQuantity"))
                used += max(initial - quantity(assignment.get("remainingQuantity")), 0)
        return used

    # -- suspend, resume, revoke ----------------------------------------------------------

    def _suspend(self, iccid: str, suspend: bool) -> str:
        self._call("POST", f"/esims/{quote(iccid)}/suspend", json={"suspend": suspend})
        return "suspended" if suspend else "resumed"

    def suspend(self, *, reference: str, iccid: str) -> None:
        supplier_actions.once(provider=self.name, reference=reference, action="suspend",
                              iccid=iccid, call=lambda: self._suspend(iccid, True))

    def resume(self, *, reference: str, iccid: str) -> None:
        if SupplierAction.objects.filter(provider=self.name, action="revoke", iccid=iccid,
                                         done_at__isnull=False).exists():
            raise FinalUpstreamError(f"ICCID {iccid} is revoked", code="profile_revoked")
        supplier_actions.once(provider=self.name, reference=reference, action="resume",
                              iccid=iccid, call=lambda: self._suspend(iccid, False))

    def revoke(self, *, reference: str, iccid: str) -> None:
        supplier_actions.once(provider=self.name, reference=reference, action="revoke",
                              iccid=iccid, call=lambda: self._revoke(iccid))

    def _revoke(self, iccid: str) -> str:
        """Bar the eSIM, take every live bundle off it, and succeed only when eSIM Go lists
        none: an activation code may still download the profile, but it carries nothing."""
        barred = True
        try:
            try:
                self._suspend(iccid, True)  # first: revoking the last bundle may return it
            except Refused as error:
                if error.status in (401, 403, 404):
                    raise
                # Refused for this eSIM (e.g. never installed): its bundles are what give
                # service, and they are revoked below.
                barred = False
            live = self._live(iccid)
        except Refused as error:
            if self._returned(iccid, error):
                return "returned to eSIM Go"
            raise
        for name, number in live:
            path = f"/esims/{quote(iccid)}/bundles/{quote(name, safe='')}/assignments/{number}"
            try:
                self._call("DELETE", path, params={"type": "transaction",
                                                   "refundToBalance": "true"})
            except Refused as error:
                if error.status in (403, 404) and self._returned(iccid, error):
                    return "returned to eSIM Go"
                # Not refundable (started, too old, refunds not enabled): revoke anyway.
                self._call("DELETE", path, params={"type": "transaction"})
        try:
            left = self._live(iccid)
        except Refused as error:
            if self._returned(iccid, error):
                return f"revoked {len(live)} bundles, returned to eSIM Go"
            raise
        if left:
            raise RetryableUpstreamError(f"eSIM Go still lists {len(left)} live bundles on "
                                         f"{iccid} after revoking", code="esimgo_revoke_incomplete")
        return f"revoked {len(live)} bundles" + ("" if barred else ", not suspended")

    def _live(self, iccid: str) -> list[tuple[str, str]]:
        answer = self._call("GET", f"/esims/{quote(iccid)}/bundles")
        live = []
        for bundle in records(answer, "bundles"):
            name = str(bundle.get("name") or "")
            for assignment in records(bundle, "assignments"):
                state = str(assignment.get("bundleState") or "").lower()
                number = str(assignment.get("id") or "")
                if name and number.isalnum() and state not in _FINISHED:
                    live.append((name, number))
        return live

    def _returned(self, iccid: str, error: Refused) -> bool:
        """eSIM Go no longer shows ``iccid`` to this account (403/404): an uninstalled eSIM
        whose last bundle was revoked goes back to eSIM Go. Believed only for an eSIM this
        account bought, whose bundles cannot be listed either, once the key is shown to work
        (else the key is what is wrong)."""
        if error.status not in (403, 404) or not EsimGoOrder.objects.filter(iccid=iccid).exists():
            return False
        try:
            self._call("GET", f"/esims/{quote(iccid)}/bundles")
        except Refused as again:
            if again.status not in (403, 404):
                raise
            self._call("GET", "/organisation")  # the key works: the eSIM is what is gone
            logger.info("eSIM Go no longer lists %s: returned", iccid)
            return True
        return False  # eSIM Go still shows it and its bundles: not returned

    # -- callbacks --------------------------------------------------------------------------

    def authenticate_callback(self, *, body: bytes, headers: Mapping[str, str],
                              remote_addr: str) -> None:
        """``X-Signature-SHA256``: HMAC-SHA256 of the raw body, base64 (eSIM Go's API
        reference) or hex (its webhooks guide), keyed with ``ESIMDESK_ESIMGO_CALLBACK_SECRET``
        or, when that is empty, the API key (what eSIM Go signs with)."""
        secret = callback_key()
        signature = header(headers, SIGNATURE_HEADER).strip()
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        given = signature.encode()
        matches = (hmac.compare_digest(base64.b64encode(digest), given)
                   | hmac.compare_digest(digest.hex().encode(), given.lower()))
        # No key configured means no callback can be trusted, not that all can.
        if not secret or not signature or not matches:
            raise InvalidCallback("The signature does not match.", code="bad_signature")

    def parse_callback(self, *, body: bytes,
                       headers: Mapping[str, str]) -> list[UpstreamEvent]:
        """``Utilisation`` -> a running-total ``UsageRecord`` per bundle; ``ProfileStatus``
        and ``FirstUse`` -> ``ProfileStatusEvent`` (id ``esimgo:<iccid>:<status>``: each
        happens once per profile); anything else, or no valid ICCID -> nothing."""
        try:
            event = json.loads(body)
            if not isinstance(event, dict):
                raise TypeError("the event must be an object")
        except (ValueError, TypeError, RecursionError) as error:
            raise InvalidCallback(str(error), code="malformed_event") from error
        alert = str(event.get("alertType", "")).replace("_", "").replace(" ", "").lower()
        try:
            iccid = clean_iccid(str(event.get("iccid", "")))
        except FinalUpstreamError:
            logger.warning("eSIM Go callback %s without a valid ICCID: ignored", alert)
            return []
        if alert == "utilisation":
            return _utilisation(iccid, event)
        if alert == "firstuse":
            return [ProfileStatusEvent(event_id=f"esimgo:{iccid}:firstuse", iccid=iccid,
                                       status=ProfileStatus.FIRST_USE)]
        if alert == "profilestatus":
            word = str(event.get("profileStatus", "")).lower()
            if word in _PROFILE_STATUS:
                return [ProfileStatusEvent(event_id=f"esimgo:{iccid}:{word}", iccid=iccid,
                                           status=_PROFILE_STATUS[word], detail=word)]
        logger.info("eSIM Go callback %r ignored", alert[:40])
        return []


def callback_key() -> str:
    """What eSIM Go's callbacks are signed with: the callback secret, else the API key."""
    return (config.env("ESIMDESK_ESIMGO_CALLBACK_SECRET").strip()
            or config.env("ESIMDESK_ESIMGO_API_KEY").strip())


def callback_signature(body: bytes, secret: str) -> str:
    """eSIM Go's callback signature: HMAC-SHA256 of the raw body with the secret, base64."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _utilisation(iccid: str, event: dict[str, Any]) -> list[UpstreamEvent]:
    """eSIM Go reports a bundle's initial and remaining quantity, not a delta: the used
    bytes are a running total per bundle assignment, so a late or repeated report charges
    nothing more. An unlimited bundle's quantities mean nothing: no usage from them."""
    bundle = event.get("bundle")
    if not isinstance(bundle, dict):
        raise InvalidCallback("bundle missing", code="malformed_event")
    if bundle.get("unlimited") is True:
        return []
    try:
        initial = _bytes(bundle["initialQuantity"])
        # Below zero: used beyond the bundle; esimdesk counts the bundle as used up.
        remaining = max(_bytes(bundle["remainingQuantity"]), 0)
        if initial < 0:
            raise ValueError("negative initial quantity")
    except (KeyError, TypeError, ValueError, InvalidOperation) as error:
        raise InvalidCallback("bundle quantities missing", code="malformed_event") from error
    key = one_line(str(bundle.get("reference") or bundle.get("id") or bundle.get("name")
                       or "bundle"), 60)
    used = max(initial - remaining, 0)
    prefix = f"esimgo:{iccid}:{key}:"
    return [UsageRecord(record_id=f"{prefix}{used}", iccid=iccid, kind="data", quantity=used,
                        running_total_key=prefix)]


def _bytes(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        raise TypeError("not a quantity")
    number = Decimal(str(value))
    if not number.is_finite() or abs(number) > 10**18:
        raise ValueError("quantity out of range")
    return int(number)


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        instant = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)
