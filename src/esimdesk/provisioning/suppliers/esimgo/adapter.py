"""eSIM Go (API v2.5), a wholesale reseller: profiles and bundles bought over HTTPS.

- ``order_profile``: ``POST /orders`` (transaction, assign, no ICCID: a new eSIM with the
  bundle), then ``GET /esims/assignments?reference=<orderReference>`` for the ICCID,
  SM-DP+ address and matching id.
- ``apply_plan``: ``POST /orders`` with the ICCID in the order item (eSIM Go queues the bundle
  after the running one).
- ``balance``: ``GET /esims/{iccid}/bundles``; reconciliation only (eSIM Go rate-limits and
  caches that read).
- ``suspend`` / ``resume``: ``POST /esims/{iccid}/suspend`` with ``{"suspend": true|false}``.
- ``revoke``: every bundle assignment still on the eSIM is revoked (``DELETE
  /esims/{iccid}/bundles/{name}/assignments/{id}``), then the eSIM is suspended: eSIM Go has
  no call that deletes a profile, and an eSIM with no bundle that was never installed goes
  back to eSIM Go by itself.
- ``parse_callback``: the signed usage and status callbacks (``esimgo_callbacks``).

eSIM Go takes no client reference on an order, so idempotency lives in ``EsimGoOrder``: the
row is written before the order is sent, and a retry of a row without ``orderReference`` (the
first call timed out) looks for the order in ``GET /orders`` since the row was written before
it orders again. See docs/providers/esimgo.md for the assumptions to verify.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests
from django.db import IntegrityError, transaction

from esimdesk import config
from esimdesk.config import Option
from esimdesk.core import audit, clock
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.ids import iccid_with_check_digit, normalize_iccid
from esimdesk.core.models import AuditEntry
from esimdesk.provisioning import supplier_actions
from esimdesk.provisioning.models import EsimGoOrder
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    InvalidCallback,
    PlanApplication,
    ProfileOrder,
    ProfileStatus,
    ProfileStatusEvent,
    RetryableUpstreamError,
    UpstreamEvent,
    UpstreamProvider,
    UsageRecord,
    header,
)

logger = logging.getLogger(__name__)

TIMEOUT = (5, 30)  # connect, read (seconds)
# How far before our row's timestamp an order may appear upstream (clock skew).
RECOVERY_SLACK = dt.timedelta(minutes=2)

#: Staff-edited exceptions to the naming rule (plan code -> eSIM Go catalogue bundle name).
BUNDLES: dict[str, str] = {}

SIGNATURE_HEADER = "X-Signature-SHA256"
# eSIM Go's profile statuses in esimdesk's words. Its "Enabled" is not proof of use (the
# FirstUse alert is), so it counts as installed, like Downloaded.
_PROFILE_STATUS = {"downloaded": ProfileStatus.INSTALLED, "installed": ProfileStatus.INSTALLED,
                   "enabled": ProfileStatus.INSTALLED, "disabled": ProfileStatus.DISABLED,
                   "deleted": ProfileStatus.DELETED}
# Assignments in these states hold nothing a revoke could take away.
_FINISHED = frozenset({"expired", "depleted", "revoked", "lapsed"})

_PLAN = re.compile(r"^(?P<area>[a-z0-9]+)-(?P<gb>\d+)gb-(?P<term>day|week|month)$")
_DAYS = {"day": 1, "week": 7, "month": 30}


def bundle_for(plan_code: str) -> str:
    """``jp-10gb-month`` -> ``esim_10GB_30D_JP_V2`` (eSIM Go's naming), unless ``BUNDLES``
    says otherwise; a plan code that already is a bundle name (``esim_...``) passes as is."""
    if plan_code in BUNDLES:
        return BUNDLES[plan_code]
    if plan_code.startswith("esim_"):
        return plan_code
    match = _PLAN.match(plan_code)
    if match is None:
        raise FinalUpstreamError(f"no eSIM Go bundle for plan {plan_code!r}",
                                 code="esimgo_no_bundle")
    return (f"esim_{match['gb']}GB_{_DAYS[match['term']]}D_"
            f"{match['area'].upper()}_V2")


def clean_iccid(value: str, *, order: EsimGoOrder | None = None) -> str:
    """eSIM Go may hand out ICCIDs without the Luhn digit: add it, and say so (log, and an
    audit row on the order it came with)."""
    with contextlib.suppress(ValidationFailed):  # valid as it is: the usual case
        return normalize_iccid(value)
    raw = (value or "").strip()
    if raw.isdigit() and len(raw) in (18, 19):
        fixed = iccid_with_check_digit(raw)
        logger.warning("eSIM Go ICCID %s had no Luhn digit; using %s", raw, fixed)
        if order is not None:
            audit.record(action="esimgo.iccid_normalised", obj=order,
                         actor_type=AuditEntry.ActorType.SYSTEM, actor="esimgo",
                         before={"iccid": raw}, after={"iccid": fixed})
        return fixed
    raise FinalUpstreamError(f"eSIM Go returned an invalid ICCID {value!r}",
                             code="esimgo_invalid_iccid")


class EsimGoProvider(UpstreamProvider):
    name = "esimgo"
    reports_first_use = True
    label = "eSIM Go"
    options = (
        # eSIM Go (wholesale reseller API v2.5).
        Option("ESIMDESK_ESIMGO_API_KEY", "", "eSIM Go API key.", secret=True),
        Option("ESIMDESK_ESIMGO_API_BASE", "https://api.esim-go.com/v2.5", "eSIM Go API base URL."),
        Option("ESIMDESK_ESIMGO_CALLBACK_SECRET", "", "Key eSIM Go signs callbacks with (HMAC).",
               secret=True),
    )
    callback_handlers = {"": "esimdesk.provisioning.suppliers.esimgo.callbacks.esimgo_callback"}

    def __init__(self) -> None:
        # The key is checked on the first API call, not here: receiving callbacks needs
        # only the callback secret.
        self.api_key = config.env("ESIMDESK_ESIMGO_API_KEY")
        self.base = config.env("ESIMDESK_ESIMGO_API_BASE").rstrip("/")

    # -- HTTP ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, json: Any = None,
              params: dict[str, str] | None = None) -> Any:
        if not self.api_key:
            raise FinalUpstreamError("ESIMDESK_ESIMGO_API_KEY is not set",
                                     code="esimgo_misconfigured")
        try:
            response = requests.request(
                method, f"{self.base}{path}", json=json, params=params, timeout=TIMEOUT,
                headers={"X-API-Key": self.api_key, "Accept": "application/json"})
        except (requests.Timeout, requests.ConnectionError) as error:
            raise RetryableUpstreamError(f"eSIM Go unreachable: {error}",
                                         code="esimgo_unreachable") from error
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableUpstreamError(
                f"eSIM Go {response.status_code}: {_message(response)}",
                code="esimgo_rate_limited" if response.status_code == 429 else "esimgo_down")
        if response.status_code >= 400:
            raise FinalUpstreamError(f"eSIM Go {response.status_code}: {_message(response)}",
                                     code="esimgo_refused")
        try:
            return response.json()
        except ValueError as error:
            # A 2xx that is not JSON is a proxy's error page: worth trying again.
            raise RetryableUpstreamError("eSIM Go answered non-JSON",
                                         code="esimgo_bad_response") from error

    # -- idempotency ----------------------------------------------------------------------

    def _row(self, *, reference: str, kind: str, plan_code: str,
             target_iccid: str = "") -> tuple[EsimGoOrder, bool]:
        try:
            with transaction.atomic():
                return EsimGoOrder.objects.create(
                    reference=reference, kind=kind, plan_code=plan_code,
                    bundle=bundle_for(plan_code), target_iccid=target_iccid,
                    requested_at=clock.now()), True
        except IntegrityError:
            row = EsimGoOrder.objects.get(reference=reference)
        if row.kind != kind or row.target_iccid != target_iccid:
            raise FinalUpstreamError(f"reference {reference} was used for another request",
                                     code="esimgo_reference_reused")
        return row, False

    def _ensure_ordered(self, row: EsimGoOrder, *, fresh: bool) -> None:
        """Make sure exactly one eSIM Go order exists for ``row`` and remember its
        reference. An older row with no ``order_reference`` may still have an order upstream
        (the answer was lost): look for it before ordering."""
        if row.order_reference:
            return
        found = None if fresh else self._find_lost_order(row)
        if found is None:
            item: dict[str, Any] = {"type": "bundle", "quantity": 1, "item": row.bundle}
            if row.target_iccid:
                item["iccids"] = [row.target_iccid]
                item["allowReassign"] = False  # never move the plan to another eSIM
            answer = self._call("POST", "/orders", json={
                "type": "transaction", "assign": True, "Order": [item]})
            found = str((answer or {}).get("orderReference") or "")
            if not found:
                raise RetryableUpstreamError("eSIM Go order without orderReference",
                                             code="esimgo_bad_response")
        row.order_reference = found
        row.save(update_fields=["order_reference"])

    def _find_lost_order(self, row: EsimGoOrder) -> str | None:
        since = (row.requested_at - RECOVERY_SLACK).strftime("%Y-%m-%dT%H:%M:%SZ")
        answer = self._call("GET", "/orders", params={
            "createdAt": f"gte:{since}", "limit": "100"})
        orders = answer.get("orders", []) if isinstance(answer, dict) else answer
        claimed = set(EsimGoOrder.objects.exclude(pk=row.pk).exclude(order_reference="")
                      .values_list("order_reference", flat=True))
        for order in sorted(orders or [], key=lambda o: str(o.get("createdDate", ""))):
            reference = str(order.get("orderReference", ""))
            if not reference or reference in claimed:
                continue
            for item in order.get("order") or []:
                if item.get("item") != row.bundle:
                    continue
                iccids = [str(i) for i in item.get("iccids") or []]
                if row.target_iccid and row.target_iccid not in iccids:
                    continue
                logger.info("eSIM Go order %s recovered for %s", reference, row.reference)
                return reference
        return None

    # -- the contract ---------------------------------------------------------------------

    def order_profile(self, *, reference: str, plan_code: str) -> ProfileOrder:
        row, fresh = self._row(reference=reference, kind="profile", plan_code=plan_code)
        if not row.iccid:
            self._ensure_ordered(row, fresh=fresh)
            self._fetch_assignment(row)
        return ProfileOrder(iccid=row.iccid, smdp_address=row.smdp_address,
                            matching_id=row.matching_id,
                            upstream_reference=row.order_reference)

    def _fetch_assignment(self, row: EsimGoOrder) -> None:
        answer = self._call("GET", "/esims/assignments",
                            params={"reference": row.order_reference})
        esims = answer.get("esims", []) if isinstance(answer, dict) else answer
        if not esims:
            # Large or slow orders are asynchronous: the order exists, the eSIM comes later.
            raise RetryableUpstreamError(f"eSIM Go order {row.order_reference} not assigned yet",
                                         code="esimgo_pending")
        esim = esims[0]
        smdp, matching = str(esim.get("smdpAddress", "")), str(esim.get("matchingId", ""))
        if not smdp or not matching:
            raise FinalUpstreamError("eSIM Go assignment without activation code",
                                     code="esimgo_bad_response")
        row.iccid = clean_iccid(str(esim.get("iccid", "")), order=row)
        row.smdp_address, row.matching_id = smdp, matching
        row.save(update_fields=["iccid", "smdp_address", "matching_id"])

    def apply_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        row, fresh = self._row(reference=reference, kind="plan", plan_code=plan_code,
                               target_iccid=iccid)
        self._ensure_ordered(row, fresh=fresh)
        return PlanApplication(iccid=iccid, plan_code=row.plan_code,
                               upstream_reference=row.order_reference)

    def balance(self, iccid: str, *, kind: str = "data", since: dt.datetime | None = None,
                until: dt.datetime | None = None) -> int:
        """Bytes used on ``iccid`` by eSIM Go's books: initial minus remaining over the
        bundles assigned within ``[since, until)`` (eSIM Go meters per bundle, not per
        hour). Only data is metered."""
        if kind != "data":
            return 0
        answer = self._call("GET", f"/esims/{iccid}/bundles")
        used = 0
        for bundle in (answer or {}).get("bundles", []):
            for assignment in bundle.get("assignments", []):
                at = _time(assignment.get("assignmentDateTime"))
                if at is not None and ((since is not None and at < since)
                                       or (until is not None and at >= until)):
                    continue
                initial = int(assignment.get("initialQuantity") or 0)
                remaining = int(assignment.get("remainingQuantity") or 0)
                used += max(initial - remaining, 0)
        return used


    # -- suspend, resume, revoke ----------------------------------------------------------

    def _suspend(self, iccid: str, suspend: bool) -> str:
        self._call("POST", f"/esims/{quote(iccid)}/suspend", json={"suspend": suspend})
        return "suspended" if suspend else "resumed"

    def suspend(self, *, reference: str, iccid: str) -> None:
        supplier_actions.once(provider=self.name, reference=reference, action="suspend",
                              iccid=iccid, call=lambda: self._suspend(iccid, True))

    def resume(self, *, reference: str, iccid: str) -> None:
        supplier_actions.once(provider=self.name, reference=reference, action="resume",
                              iccid=iccid, call=lambda: self._suspend(iccid, False))

    def revoke(self, *, reference: str, iccid: str) -> None:
        supplier_actions.once(provider=self.name, reference=reference, action="revoke",
                              iccid=iccid, call=lambda: self._revoke(iccid))

    def _revoke(self, iccid: str) -> str:
        answer = self._call("GET", f"/esims/{quote(iccid)}/bundles")
        revoked = 0
        for bundle in (answer or {}).get("bundles", []):
            name = str(bundle.get("name") or "")
            for assignment in bundle.get("assignments", []):
                state = str(assignment.get("bundleState") or "").lower()
                number = str(assignment.get("id") or "")
                if not name or not number or state in _FINISHED:
                    continue
                self._call("DELETE", f"/esims/{quote(iccid)}/bundles/{quote(name)}"
                                     f"/assignments/{quote(number)}")
                revoked += 1
        # Barred for good: esimdesk never resumes a revoked eSIM (resume refuses it there).
        self._suspend(iccid, True)
        return f"revoked {revoked} bundles"

    # -- callbacks --------------------------------------------------------------------------

    def authenticate_callback(self, *, body: bytes, headers: Mapping[str, str],
                              remote_addr: str) -> None:
        """``X-Signature-SHA256``: base64 HMAC-SHA256 of the raw body with
        ``ESIMDESK_ESIMGO_CALLBACK_SECRET``."""
        secret = config.env("ESIMDESK_ESIMGO_CALLBACK_SECRET")
        signature = header(headers, SIGNATURE_HEADER).strip()
        # No secret configured means no callback can be trusted, not that all can.
        if not secret or not signature or not hmac.compare_digest(
                callback_signature(body, secret).encode(), signature.encode()):
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
            return [_utilisation(iccid, event)]
        if alert == "firstuse":
            return [ProfileStatusEvent(event_id=f"esimgo:{iccid}:firstuse", iccid=iccid,
                                       status=ProfileStatus.FIRST_USE)]
        if alert == "profilestatus":
            word = str(event.get("profileStatus", "")).lower()
            if word in _PROFILE_STATUS:
                return [ProfileStatusEvent(event_id=f"esimgo:{iccid}:{word}", iccid=iccid,
                                           status=_PROFILE_STATUS[word], detail=word)]
        logger.info("eSIM Go callback %r ignored", alert)
        return []


def callback_signature(body: bytes, secret: str) -> str:
    """eSIM Go's callback signature: HMAC-SHA256 of the raw body with the secret, base64."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _utilisation(iccid: str, event: dict[str, Any]) -> UsageRecord:
    """eSIM Go reports a bundle's initial and remaining quantity, not a delta: the used
    bytes are a running total per bundle."""
    bundle = event.get("bundle") or {}
    try:
        initial = int(bundle["initialQuantity"])
        remaining = int(bundle["remainingQuantity"])
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidCallback("bundle quantities missing", code="malformed_event") from error
    key = str(bundle.get("reference") or bundle.get("id") or bundle.get("name") or "bundle")
    used = max(initial - remaining, 0)
    prefix = f"esimgo:{iccid}:{key}:"
    return UsageRecord(record_id=f"{prefix}{used}", iccid=iccid, kind="data", quantity=used,
                       running_total_key=prefix)


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        instant = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:200]
    return str(body)[:200]
