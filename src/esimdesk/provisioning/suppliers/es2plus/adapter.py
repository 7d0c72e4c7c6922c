"""GSMA ES2+ adapter (SGP.22 v2.5 JSON binding): esimdesk as the operator, ordering profiles
from an SM-DP+.

The wire (HTTPS, mutual TLS, answers and their errors) is ``transport``. ES2+ has no
idempotency of its own, so the adapter keeps an ``Es2Order`` row per esimdesk reference and
resumes from where a previous attempt stopped: a retry after ``downloadOrder`` succeeded only
confirms the same ICCID; a retry after ``confirmOrder`` returns the stored result without
calling the SM-DP+. Every call carries a fresh ``functionCallIdentifier``.

A ``downloadOrder`` whose outcome is unknown (no answer, a garbled one) may have allocated a
profile. With an ICCID pool the retry asks for the same ICCID, so nothing leaks; without
one the SM-DP+ picks, so the call is recorded (``Es2UnknownDownload``, its call id) for staff
to reconcile, and the retry orders again: the customer's order gets one profile.

The profile type is the plan's ES2+ bundle code (``catalog.bundles``, reached through
``receivers.bundle_code``); a plan that maps none is ordered with
``ESIMDESK_ES2PLUS_PROFILE_TYPE``. The activation code's SM-DP+ address is confirmOrder's
``smdpAddress``, else ``ESIMDESK_ES2PLUS_SMDP_ADDRESS``, else the URL's host if it is a host
name: worked out whenever the result is read, so a corrected setting fixes a stored order.

ES2+ knows nothing about plans (the plan lives in the operator's network), so ``apply_plan``,
``replace_plan`` and ``end_plan`` are recorded locally in ``Es2PlanRecord``. For the same
reason ES2+ offers no suspend or resume (``not_supported``: bar the ICCID in the network).
``revoke`` is ``cancelOrder`` with ``finalProfileStatusIndicator=Unavailable`` while the
profile was not downloaded; once it was (the SM-DP+ refuses the cancel as an invalid
transition), ES2+ cannot delete it from the device, so the order is marked ``revoked`` and an
``Es2PlanRecord`` ``revoke`` tells the network side to bar the ICCID.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction

from esimdesk import config
from esimdesk.core import clock
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.ids import ActivationCode, iccid_with_check_digit
from esimdesk.provisioning import callback_auth, receivers, supplier_actions
from esimdesk.provisioning.models import Es2Order, Es2PlanRecord, Es2UnknownDownload
from esimdesk.provisioning.suppliers.base import (
    Answer,
    FinalUpstreamError,
    InvalidCallback,
    PlanApplication,
    PossiblyAllocated,
    ProfileOrder,
    ProfileStatus,
    ProfileStatusEvent,
    UpstreamError,
    UpstreamEvent,
    UpstreamProvider,
)
from esimdesk.provisioning.suppliers.es2plus import callbacks, reconcile
from esimdesk.provisioning.suppliers.es2plus.iccid import local_iccid
from esimdesk.provisioning.suppliers.es2plus.options import OPTIONS
from esimdesk.provisioning.suppliers.es2plus.transport import (
    PROTOCOL,
    OutcomeUnknown,
    Reply,
    TlsSettings,
    Transport,
    misconfigured,
)

logger = logging.getLogger(__name__)

# downloadOrder of a pool ICCID that is no longer Available ("Profile ICCID" / "already in
# use"): on a retry of our own order this means our first, unanswered call went through.
_ALREADY_ALLOCATED = ("8.2.1", "3.3")
# cancelOrder of a profile already downloaded or installed: "Profile ICCID - Invalid
# Transition". Check the reason code your SM-DP+ uses (docs/providers/es2plus.md).
_ALREADY_DOWNLOADED = ("8.2.1", "3.5")
# A Failed answer that refuses the caller rather than the request ("Not allowed
# (authorisation)"): the requester id is not one the SM-DP+ knows.
_CALLER_REFUSED_REASONS = frozenset({"1.2"})
# handleDownloadProgressInfo points that are profile status events (SGP.22 5.3.5).
_POINT_STATUS = {3: ProfileStatus.DOWNLOADED, 4: ProfileStatus.INSTALLED}
# An ICCID no SM-DP+ can hold (country code 00), for the connection check.
PROBE_ICCID = iccid_with_check_digit("890000000000000000")


def valid_smdp_address(address: str) -> bool:
    """Whether ``address`` can stand in an activation code (a host name, no ``$``)."""
    try:
        ActivationCode(address, "probe")
    except ValidationFailed:
        return False
    return True


class Es2PlusProvider(UpstreamProvider):
    name = "es2plus"
    label = "GSMA ES2+ (SM-DP+)"
    options = OPTIONS
    callback_handlers = {
        "gsma/rsp2/es2plus/handleDownloadProgressInfo":
            "esimdesk.provisioning.suppliers.es2plus.callbacks.handle_download_progress_info",
    }

    @classmethod
    def possibly_allocated(cls, now: dt.datetime) -> PossiblyAllocated:
        """``downloadOrder`` calls whose outcome was lost, not yet marked reconciled
        (``Es2UnknownDownload``, ``reconcile``): each may hold a profile nobody got."""
        return PossiblyAllocated(*reconcile.still_open())

    def __init__(self) -> None:
        # Nothing here raises: receiving progress notifications needs only the callback
        # credential, so a bad outbound setting is refused on the first call out.
        self.url = config.env("ESIMDESK_ES2PLUS_URL").strip().rstrip("/")
        self.requester_id = config.env("ESIMDESK_ES2PLUS_REQUESTER_ID").strip() or "esimdesk"
        self.profile_type = config.env("ESIMDESK_ES2PLUS_PROFILE_TYPE").strip()
        self.iccid_pool = config.env("ESIMDESK_ES2PLUS_ICCIDS").strip()
        self.smdp_setting = config.env("ESIMDESK_ES2PLUS_SMDP_ADDRESS").strip()
        self.smds_address = config.env("ESIMDESK_ES2PLUS_SMDS_ADDRESS").strip()
        self.own_matching_ids = config.flag("ESIMDESK_ES2PLUS_MATCHING_IDS")
        self.confirmation_codes = config.flag("ESIMDESK_ES2PLUS_CONFIRMATION_CODES")
        self.tls = TlsSettings.from_config()
        raw = config.env("ESIMDESK_ES2PLUS_TIMEOUT_SECONDS").strip()
        try:
            self.timeout = float(raw)
            self.timeout_problem = "" if 0 < self.timeout <= 300 else "out of range"
        except ValueError:
            self.timeout, self.timeout_problem = 20.0, "not a number"
        self._transport: Transport | None = None

    # -- transport ------------------------------------------------------------------------

    def transport(self) -> Transport:
        if self.timeout_problem:
            raise misconfigured("ESIMDESK_ES2PLUS_TIMEOUT_SECONDS must be seconds between 0 "
                                f"and 300 ({self.timeout_problem})")
        if self._transport is None:
            transport = Transport(url=self.url, requester_id=self.requester_id,
                                  timeout=self.timeout, tls=self.tls)
            transport.session()  # refuses a bad URL, certificate or key now
            self._transport = transport
        self._transport.timeout = self.timeout
        return self._transport

    def call(self, function: str, body: dict[str, Any]) -> Reply:
        """POST one ES2+ function (a fresh call id); its answer or a typed error."""
        return self.transport().call(function, body)

    def check_connection(self) -> str:
        """A live handshake and a harmless call: ``releaseProfile`` of an ICCID no SM-DP+
        holds, which a working SM-DP+ refuses with a well-formed ``Failed``. Returns one line
        saying what worked; raises an ``UpstreamError`` whose message says what is wrong (a
        bad setting, TLS, a wrong URL path, the requester id refused, another protocol)."""
        try:
            reply = self.call("releaseProfile", {"iccid": PROBE_ICCID})
        except FinalUpstreamError as error:
            data = getattr(error, "status_code_data", None)
            if data is None and error.code != "es2_failed":
                raise
            reason = str((data or {}).get("reasonCode") or "")
            if reason in _CALLER_REFUSED_REASONS:
                raise UpstreamError(f"the SM-DP+ refused requester id {self.requester_id!r} "
                                    f"({error}): check ESIMDESK_ES2PLUS_REQUESTER_ID",
                                    code="es2_requester_refused") from error
            return (f"ES2+ at {self.url}: TLS handshake and {PROTOCOL} answer ok (releaseProfile "
                    f"of a test ICCID refused as expected: {error.code})")
        logger.warning("ES2+ releaseProfile of the test ICCID succeeded (call %s)",
                       reply.call_id)
        return (f"ES2+ at {self.url}: TLS handshake and {PROTOCOL} answer ok (the SM-DP+ "
                "accepted releaseProfile of a test ICCID: ask its vendor why)")

    # -- the SM-DP+ address of activation codes ---------------------------------------------

    def smdp_address(self, answered: str = "") -> str:
        """confirmOrder's ``smdpAddress``, else ``ESIMDESK_ES2PLUS_SMDP_ADDRESS``, else the
        URL's host: the first that is a host name. ``es2_no_smdp_address`` when none is."""
        tried = []
        for source, address in (("confirmOrder's smdpAddress", answered),
                                ("ESIMDESK_ES2PLUS_SMDP_ADDRESS", self.smdp_setting),
                                ("the host of ESIMDESK_ES2PLUS_URL",
                                 urlsplit(self.url).hostname or "")):
            if address and valid_smdp_address(address):
                return address
            if address:
                tried.append(f"{source} {address!r} is not a host name")
        raise FinalUpstreamError("no SM-DP+ address for the activation code ("
                                 + ("; ".join(tried) or "confirmOrder answered none")
                                 + "): set ESIMDESK_ES2PLUS_SMDP_ADDRESS to the SM-DP+'s host "
                                 "name", code="es2_no_smdp_address")

    # -- orders ---------------------------------------------------------------------------

    def profile_type_for(self, plan_code: str) -> str:
        """The plan's ES2+ bundle code, or the global fallback for a plan that maps none."""
        if plan_code and receivers.bundle_code(supplier=self.name, code=plan_code):
            return plan_code
        return self.profile_type

    def _pool_iccid(self, order: Es2Order) -> None:
        """Reserve the first pool ICCID no other order holds (unique column settles races)."""
        try:
            lines = Path(self.iccid_pool).read_text().splitlines()
        except OSError as error:
            raise misconfigured(f"cannot read ESIMDESK_ES2PLUS_ICCIDS: {error}") from error
        for line in lines:
            raw = line.strip()
            if not raw or raw.startswith("#"):
                continue
            try:
                iccid = local_iccid(raw)
            except ValidationFailed:
                logger.warning("ES2+ ICCID pool: skipping invalid line %r", raw)
                continue
            if Es2Order.objects.filter(iccid=iccid).exists():
                continue
            try:
                with transaction.atomic():
                    Es2Order.objects.filter(pk=order.pk).update(
                        iccid=iccid, upstream_iccid=raw, updated_at=clock.now())
            except IntegrityError:
                continue
            order.iccid, order.upstream_iccid = iccid, raw
            return
        raise FinalUpstreamError("the ES2+ ICCID pool is exhausted", code="es2_pool_exhausted")

    def _result(self, order: Es2Order) -> ProfileOrder:
        return ProfileOrder(iccid=str(order.iccid),
                            smdp_address=self.smdp_address(order.smdp_address),
                            matching_id=order.matching_id,
                            confirmation_code=order.confirmation_code,
                            upstream_reference=f"es2-{order.pk}")

    def _save(self, order: Es2Order, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(order, name, value)
        order.updated_at = clock.now()
        order.save(update_fields=[*fields, "updated_at"])

    def order_profile(self, *, reference: str, plan_code: str, eid: str = "") -> ProfileOrder:
        """The contract's ``order_profile``; ``eid``, when the device is known (a reissue),
        travels with downloadOrder and confirmOrder so the profile is bound to it."""
        try:
            order, created = Es2Order.objects.get_or_create(
                reference=reference, defaults={"plan_code": plan_code, "eid": eid,
                                               "profile_type": self.profile_type_for(plan_code)})
        except IntegrityError:
            order, created = Es2Order.objects.get(reference=reference), False
        if order.state == Es2Order.State.CONFIRMED:
            return self._result(order)
        if order.state not in (Es2Order.State.NEW, Es2Order.State.ORDERED):
            raise FinalUpstreamError(f"ES2+ order {reference} is {order.state}",
                                     code="es2_order_closed")
        if order.state == Es2Order.State.NEW:
            self._download(order, retry=not created)
        self._confirm(order)
        Es2UnknownDownload.objects.filter(reference=reference).update(
            order_iccid=str(order.iccid))
        return self._result(order)

    def _download(self, order: Es2Order, *, retry: bool) -> None:
        if self.iccid_pool and not order.iccid:
            self._pool_iccid(order)
        body: dict[str, Any] = {}
        if order.eid:
            body["eid"] = order.eid
        if order.upstream_iccid:
            body["iccid"] = order.upstream_iccid
        if order.profile_type:
            body["profileType"] = order.profile_type
        try:
            reply = self.call("downloadOrder", body)
        except OutcomeUnknown as error:
            if not order.upstream_iccid:  # the SM-DP+ picks: a retry cannot ask for it again
                self._possibly_allocated(order, error)
            raise
        except FinalUpstreamError as error:
            data = getattr(error, "status_code_data", {})
            ours = retry and order.upstream_iccid and (
                (str(data.get("subjectCode")), str(data.get("reasonCode"))) == _ALREADY_ALLOCATED)
            if not ours:
                raise
            logger.info("ES2+ %s already allocated to order %s: confirming",
                        order.upstream_iccid, order.reference)
            reply = Reply({"iccid": order.upstream_iccid}, getattr(error, "call_id", ""))
        raw = str(reply.body.get("iccid") or "")
        try:
            iccid = local_iccid(raw)
        except ValidationFailed as error:
            raise FinalUpstreamError(f"ES2+ downloadOrder answered a bad ICCID {raw!r}",
                                     code="es2_bad_answer") from error
        try:
            self._save(order, iccid=iccid, upstream_iccid=raw, download_call_id=reply.call_id,
                       state=Es2Order.State.ORDERED)
        except IntegrityError as error:
            raise FinalUpstreamError(f"ES2+ ICCID {iccid} is already on another order",
                                     code="es2_duplicate_iccid") from error

    def _possibly_allocated(self, order: Es2Order, error: UpstreamError) -> None:
        call_id = getattr(error, "call_id", "")
        logger.warning("ES2+ downloadOrder %s for order %s: outcome unknown (%s); recorded "
                       "as possibly allocated", call_id, order.reference, error.code)
        Es2UnknownDownload.objects.get_or_create(
            function_call_identifier=call_id,
            defaults={"reference": order.reference, "profile_type": order.profile_type,
                      "eid": order.eid, "error_code": error.code[:40],
                      "detail": str(error)[:300]})

    def _confirm(self, order: Es2Order) -> None:
        # Made once and kept, so a retry sends the same values.
        made: dict[str, str] = {}
        if self.own_matching_ids and not order.matching_id:
            made["matching_id"] = secrets.token_hex(10).upper()
        if self.confirmation_codes and not order.confirmation_code:
            made["confirmation_code"] = f"{secrets.randbelow(10**8):08d}"
        if made:
            self._save(order, **made)
        body: dict[str, Any] = {"iccid": order.upstream_iccid, "releaseFlag": True}
        if order.eid:
            body["eid"] = order.eid
        if order.matching_id:
            body["matchingId"] = order.matching_id
        if order.confirmation_code:
            body["confirmationCode"] = order.confirmation_code
        if self.smds_address and order.eid:
            body["smdsAddress"] = self.smds_address
        answer = self.call("confirmOrder", body).body
        matching_id = str(answer.get("matchingId") or order.matching_id)
        if not matching_id or "$" in matching_id:
            raise FinalUpstreamError("ES2+ confirmOrder answered without a usable matchingId",
                                     code="es2_bad_answer")
        answered = str(answer.get("smdpAddress") or "")
        if answered and not valid_smdp_address(answered):
            logger.warning("ES2+ confirmOrder answered smdpAddress %r, not a host name",
                           answered)
        self._save(order, state=Es2Order.State.CONFIRMED, matching_id=matching_id,
                   smdp_address=answered[:253])

    def _order_for(self, iccid: str) -> Es2Order | None:
        try:
            return Es2Order.objects.filter(iccid=local_iccid(iccid)).first()
        except ValidationFailed:
            return None

    def cancel_order(self, iccid: str, final_profile_status: str = "Available") -> None:
        """``cancelOrder``: undo an order not yet installed; the profile returns to the
        SM-DP+ as ``Available`` (reusable) or ``Unavailable``."""
        order = self._order_for(iccid)
        body: dict[str, Any] = {"iccid": order.upstream_iccid if order else iccid,
                                "finalProfileStatusIndicator": final_profile_status}
        if order and order.eid:
            body["eid"] = order.eid
        if order and order.matching_id:
            body["matchingId"] = order.matching_id
        self.call("cancelOrder", body)
        if order:
            self._save(order, state=Es2Order.State.CANCELLED)

    def release_profile(self, iccid: str) -> None:
        """``releaseProfile``: release a profile confirmed with ``releaseFlag=false``."""
        order = self._order_for(iccid)
        self.call("releaseProfile", {"iccid": order.upstream_iccid if order else iccid})

    # -- plans: local records only (ES2+ has no plan concept) -----------------------------

    def _record(self, reference: str, iccid: str, plan_code: str, action: str) -> Es2PlanRecord:
        try:
            record, _ = Es2PlanRecord.objects.get_or_create(
                reference=reference,
                defaults={"iccid": iccid, "plan_code": plan_code, "action": action})
        except IntegrityError:
            record = Es2PlanRecord.objects.get(reference=reference)
        return record

    def apply_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        record = self._record(reference, iccid, plan_code, "apply")
        return PlanApplication(iccid=iccid, plan_code=record.plan_code,
                               upstream_reference=f"es2plan-{record.pk}")

    def replace_plan(self, *, reference: str, iccid: str, plan_code: str) -> PlanApplication:
        record = self._record(reference, iccid, plan_code, "replace")
        return PlanApplication(iccid=iccid, plan_code=record.plan_code,
                               upstream_reference=f"es2plan-{record.pk}")

    def end_plan(self, *, reference: str, iccid: str) -> None:
        self._record(reference, iccid, "", "end")

    # -- revoke; no suspend / resume in ES2+ -----------------------------------------------

    def revoke(self, *, reference: str, iccid: str) -> None:
        supplier_actions.once(provider=self.name, reference=reference, action="revoke",
                              iccid=iccid, call=lambda: self._revoke(reference, iccid))

    def _revoke(self, reference: str, iccid: str) -> str:
        order = self._order_for(iccid)
        if order is not None and order.state in (Es2Order.State.CANCELLED,
                                                 Es2Order.State.REVOKED):
            return str(order.state)
        try:
            # Unavailable, not Available: a revoked profile must never be handed out again.
            self.cancel_order(iccid, final_profile_status="Unavailable")
        except FinalUpstreamError as error:
            data = getattr(error, "status_code_data", {})
            if (str(data.get("subjectCode")), str(data.get("reasonCode"))) \
                    != _ALREADY_DOWNLOADED:
                raise
            logger.warning("ES2+ profile %s already downloaded: revoked in esimdesk, the "
                           "network must bar the ICCID", iccid)
            if order is not None:
                self._save(order, state=Es2Order.State.REVOKED)
            self._record(reference, iccid, "", "revoke")
            return "revoked"
        return "cancelled"

    # -- inbound ----------------------------------------------------------------------------

    @staticmethod
    def callback_credentials() -> list[str]:
        """The ways the SM-DP+ can prove itself that are configured: ``token`` (a bearer
        secret) and ``certificate`` (a client certificate the TLS proxy verified, pinned by
        subject and/or fingerprint). Empty: every callback is refused."""
        ways = []
        if config.env("ESIMDESK_ES2PLUS_CALLBACK_TOKEN").strip():
            ways.append("token")
        if config.env("ESIMDESK_ES2PLUS_CALLBACK_CERT_SUBJECT").strip() or _fingerprints():
            ways.append("certificate")
        return ways

    def callback_ack(self, report: dict[str, Any] | None) -> Answer:
        """SGP.22 answers a notification with HTTP 204 and no body (its headers:
        ``callback_headers``)."""
        return 204, None

    def callback_headers(self) -> Mapping[str, str]:
        """On every answer of the ES2+ callback route, as SGP.22 6.5.1 asks (an SM-DP+ such
        as pySim checks both, on a 204 too)."""
        return {"X-Admin-Protocol": PROTOCOL, "Content-Type": "application/json"}

    def callback_refusal(self, code: str, status: int, detail: Any = None) -> Answer:
        """A refusal in the ES2+ shape (``header.functionExecutionStatus`` Failed with
        ``statusCodeData``), with esimdesk's ``code``/``message``/``detail`` beside it."""
        return callbacks.refusal_answer(code, status, detail)

    def authenticate_callback(self, *, body: bytes, headers: Mapping[str, str],
                              remote_addr: str) -> None:
        """ES2+ signs nothing: the SM-DP+ proves itself with every credential configured,
        a bearer secret (``ESIMDESK_ES2PLUS_CALLBACK_TOKEN``) and/or a client certificate
        the TLS proxy verified and passed on in headers, believed only from
        ``ESIMDESK_TRUSTED_PROXIES`` (docs/providers/es2plus.md). With neither configured
        every callback is refused. Then, still before the body is read, the request must be
        ES2+: ``X-Admin-Protocol: gsma/rsp/v2.*`` and a JSON content type."""
        ways = self.callback_credentials()
        problem = "" if ways else "no callback credential is configured"
        if "token" in ways and not callback_auth.bearer_matches(
                headers, config.env("ESIMDESK_ES2PLUS_CALLBACK_TOKEN").strip()):
            problem = "no valid bearer token"
        if not problem and "certificate" in ways:
            problem = callback_auth.certificate_problem(
                headers, remote_addr,
                subject=config.env("ESIMDESK_ES2PLUS_CALLBACK_CERT_SUBJECT").strip(),
                fingerprints=_fingerprints())
        if problem:
            raise InvalidCallback(problem, code="unauthenticated_supplier")
        callbacks.check_envelope(headers)

    def parse_callback(self, *, body: bytes,
                       headers: Mapping[str, str]) -> list[UpstreamEvent]:
        """One ``handleDownloadProgressInfo``: point 3 (bound profile package downloaded)
        and point 4 (installed), when successful, are status events; a failed point is a
        ``failed`` event; other points are information (no event)."""
        try:
            fields = callbacks.parse(body)
        except callbacks.Malformed as error:
            raise InvalidCallback(str(error), code="malformed_event") from error
        success = fields["status"] in ("Executed-Success", "Executed-WithWarning")
        status = _POINT_STATUS.get(fields["point_id"]) if success else ProfileStatus.FAILED
        if status is None:
            return []
        stamp = fields["occurred_at"].isoformat()
        return [ProfileStatusEvent(
            event_id=f"es2:{fields['iccid']}:{fields['point_id']}:{fields['status']}:{stamp}",
            iccid=fields["iccid"], status=status, occurred_at=fields["occurred_at"],
            detail=str(fields["status_code_data"])[:200])]


def _fingerprints() -> frozenset[str]:
    raw = config.env("ESIMDESK_ES2PLUS_CALLBACK_CERT_FINGERPRINT")
    return frozenset(callback_auth.fingerprint(item) for item in raw.split(",") if item.strip())
