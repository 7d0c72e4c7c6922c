"""GSMA ES2+ adapter (SGP.22 v2.5 JSON binding): esimdesk as the operator, ordering profiles
from an SM-DP+.

Every call is an HTTPS POST to ``<URL>/gsma/rsp2/es2plus/<function>``, optionally with mutual
TLS. ES2+ has no idempotency of its own, so the adapter keeps an ``Es2Order`` row per
esimdesk reference and resumes from where a previous attempt stopped: a retry after
``downloadOrder`` succeeded only confirms the same ICCID; a retry after ``confirmOrder``
returns the stored result without calling the SM-DP+. The ``functionCallIdentifier`` is
derived from the reference, so an SM-DP+ that deduplicates on it sees the same id again.

ES2+ knows nothing about plans (the plan lives in the operator's network), so ``apply_plan``,
``replace_plan`` and ``end_plan`` are recorded locally in ``Es2PlanRecord``. For the same
reason ES2+ offers no suspend or resume (``not_supported``: bar the ICCID in the network).
``revoke`` is ``cancelOrder`` with ``finalProfileStatusIndicator=Unavailable`` while the
profile was not downloaded; once it was (the SM-DP+ refuses the cancel as an invalid
transition), ES2+ cannot delete it from the device, so the order is marked ``revoked`` and an
``Es2PlanRecord`` ``revoke`` tells the network side to bar the ICCID.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from django.db import IntegrityError, transaction

from esimdesk import config
from esimdesk.config import Option
from esimdesk.core import clock
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.ids import normalize_iccid
from esimdesk.provisioning import callback_auth, supplier_actions
from esimdesk.provisioning.models import Es2Order, Es2PlanRecord
from esimdesk.provisioning.suppliers.base import (
    Answer,
    FinalUpstreamError,
    InvalidCallback,
    PlanApplication,
    ProfileOrder,
    ProfileStatus,
    ProfileStatusEvent,
    RetryableUpstreamError,
    UpstreamEvent,
    UpstreamProvider,
)

logger = logging.getLogger(__name__)

PROTOCOL = "gsma/rsp/v2.5.0"
_ACCEPTED_PROTOCOL = re.compile(r"^gsma/rsp/v2(\.\d+)*$")
PATH = "/gsma/rsp2/es2plus/"

# reasonCodes after which the same request may succeed later. SGP.22 reason 4.2 is
# "Execution Error" (an SM-DP+-internal failure, not a verdict on the request); everything
# else (unknown/invalid/not allowed/refused...) fails the same way again.
RETRYABLE_REASON_CODES = frozenset({"4.2"})
# downloadOrder of a pool ICCID that is no longer Available ("Profile ICCID" / "already in
# use"): on a retry of our own order this means our first, unanswered call went through.
_ALREADY_ALLOCATED = ("8.2.1", "3.3")
# cancelOrder of a profile already downloaded or installed: "Profile ICCID - Invalid
# Transition". Check the reason code your SM-DP+ uses (docs/providers/es2plus.md).
_ALREADY_DOWNLOADED = ("8.2.1", "3.5")
# handleDownloadProgressInfo points that are profile status events (SGP.22 5.3.5).
_POINT_STATUS = {3: ProfileStatus.DOWNLOADED, 4: ProfileStatus.INSTALLED}


def _call_id(reference: str, function: str) -> str:
    """Deterministic per (reference, function): the same attempt carries the same id."""
    return "esd-" + hashlib.sha256(f"{reference}|{function}".encode()).hexdigest()[:32]


class Es2PlusProvider(UpstreamProvider):
    name = "es2plus"
    label = "GSMA ES2+ (SM-DP+)"
    options = (
        Option("ESIMDESK_ES2PLUS_URL", "",
               "SM-DP+ ES2+ base URL, e.g. https://smdp.example.com"),
        Option("ESIMDESK_ES2PLUS_REQUESTER_ID", "",
               "functionRequesterIdentifier (your operator id)."),
        Option("ESIMDESK_ES2PLUS_PROFILE_TYPE", "", "profileType to order (SM-DP+ specific)."),
        Option("ESIMDESK_ES2PLUS_ICCIDS", "", "Pre-provisioned ICCIDs to order from (a file path, "
               "one per line), when the SM-DP+ does not pick them."),
        Option("ESIMDESK_ES2PLUS_CLIENT_CERT", "", "Client certificate (PEM path) for mutual TLS."),
        Option("ESIMDESK_ES2PLUS_CLIENT_KEY", "", "Client key (PEM path) for mutual TLS.",
               secret=True),
        Option("ESIMDESK_ES2PLUS_CA", "", "CA bundle (PEM path) to verify the SM-DP+."),
        # How the SM-DP+ proves who it is when it calls esimdesk back (docs/providers/es2plus.md).
        # Every credential configured is required; with none, every callback is refused.
        Option("ESIMDESK_ES2PLUS_CALLBACK_TOKEN", "", "Bearer secret the SM-DP+ sends in "
               "'Authorization: Bearer ...' on its callbacks.", secret=True),
        Option("ESIMDESK_ES2PLUS_CALLBACK_CERT_SUBJECT", "", "Subject DN of the SM-DP+'s client "
               "certificate, as the TLS proxy passes it (e.g. CN=smdp.example.com,O=Example)."),
        Option("ESIMDESK_ES2PLUS_CALLBACK_CERT_FINGERPRINT", "", "SHA-1 fingerprint(s) of the "
               "SM-DP+'s client certificate, hex, comma-separated (colons ignored)."),
    )
    callback_handlers = {
        "gsma/rsp2/es2plus/handleDownloadProgressInfo":
            "esimdesk.provisioning.suppliers.es2plus.callbacks.handle_download_progress_info",
    }
    #: seconds for connect and for each read; tests shorten it
    timeout: float = 20.0

    def __init__(self) -> None:
        # The URL is checked on the first call out, not here: receiving progress
        # notifications needs only the callback credential.
        self.url = config.env("ESIMDESK_ES2PLUS_URL").strip().rstrip("/")
        self.requester_id = config.env("ESIMDESK_ES2PLUS_REQUESTER_ID").strip() or "esimdesk"
        self.profile_type = config.env("ESIMDESK_ES2PLUS_PROFILE_TYPE").strip()
        self.iccid_pool = config.env("ESIMDESK_ES2PLUS_ICCIDS").strip()
        cert = config.env("ESIMDESK_ES2PLUS_CLIENT_CERT").strip()
        key = config.env("ESIMDESK_ES2PLUS_CLIENT_KEY").strip()
        ca = config.env("ESIMDESK_ES2PLUS_CA").strip()
        self.cert: tuple[str, str] | str | None = (cert, key) if cert and key else cert or None
        self.verify: str | bool = ca or True
        self.default_smdp = urlsplit(self.url).hostname or ""

    # -- transport ------------------------------------------------------------------------

    def call(self, function: str, body: dict[str, Any], *, call_id: str) -> dict[str, Any]:
        """POST one ES2+ function; returns the answer body or raises a typed error."""
        if not self.url.startswith(("https://", "http://")):
            raise FinalUpstreamError("ESIMDESK_ES2PLUS_URL must be an http(s) URL",
                                     code="es2_misconfigured")
        payload = {"header": {"functionRequesterIdentifier": self.requester_id,
                              "functionCallIdentifier": call_id}, **body}
        try:
            response = requests.post(
                self.url + PATH + function, json=payload, timeout=self.timeout,
                cert=self.cert, verify=self.verify,
                headers={"Content-Type": "application/json", "X-Admin-Protocol": PROTOCOL})
        except requests.Timeout as error:
            raise RetryableUpstreamError(f"ES2+ {function} timed out: {error}",
                                         code="es2_timeout") from error
        except requests.RequestException as error:  # connection refused, TLS, DNS...
            raise RetryableUpstreamError(f"ES2+ {function} failed: {error}",
                                         code="es2_connection") from error
        status = response.status_code
        if status >= 500 or status in (408, 429):
            raise RetryableUpstreamError(f"ES2+ {function}: HTTP {status}",
                                         code=f"es2_http_{status}")
        if status != 200:
            raise FinalUpstreamError(f"ES2+ {function}: HTTP {status}", code=f"es2_http_{status}")
        protocol = response.headers.get("X-Admin-Protocol", "").strip()
        if not _ACCEPTED_PROTOCOL.match(protocol):
            raise FinalUpstreamError(f"ES2+ {function}: unsupported X-Admin-Protocol "
                                     f"{protocol!r}", code="es2_protocol")
        try:
            answer = response.json()
            execution = answer["header"]["functionExecutionStatus"]
            outcome = execution["status"]
        except (ValueError, KeyError, TypeError) as error:
            # A garbled answer leaves the outcome unknown; the order is resumable, so retry.
            raise RetryableUpstreamError(f"ES2+ {function}: malformed answer",
                                         code="es2_bad_answer") from error
        data = execution.get("statusCodeData") or {}
        if outcome == "Executed-Success":
            return dict(answer)
        if outcome == "Executed-WithWarning":
            logger.warning("ES2+ %s executed with warning: %s", function, data)
            return dict(answer)
        subject, reason = str(data.get("subjectCode", "")), str(data.get("reasonCode", ""))
        message = str(data.get("message") or f"ES2+ {function} {outcome}")
        code = f"es2_{subject}_{reason}" if outcome == "Failed" else "es2_expired"
        if outcome == "Failed" and reason in RETRYABLE_REASON_CODES:
            raise RetryableUpstreamError(message, code=code)
        if outcome not in ("Failed", "Expired"):
            raise FinalUpstreamError(f"ES2+ {function}: unknown status {outcome!r}",
                                     code="es2_bad_status")
        error = FinalUpstreamError(message, code=code)
        error.status_code_data = data  # type: ignore[attr-defined]
        raise error

    # -- orders ---------------------------------------------------------------------------

    def _pool_iccid(self, order: Es2Order) -> None:
        """Reserve the first pool ICCID no other order holds (unique column settles races)."""
        try:
            lines = Path(self.iccid_pool).read_text().splitlines()
        except OSError as error:
            raise FinalUpstreamError(f"cannot read ESIMDESK_ES2PLUS_ICCIDS: {error}",
                                     code="es2_misconfigured") from error
        for line in lines:
            raw = line.strip()
            if not raw or raw.startswith("#"):
                continue
            try:
                iccid = normalize_iccid(raw)
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
        return ProfileOrder(iccid=str(order.iccid), smdp_address=order.smdp_address,
                            matching_id=order.matching_id, confirmation_code="",
                            upstream_reference=f"es2-{order.pk}")

    def _save(self, order: Es2Order, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(order, name, value)
        order.updated_at = clock.now()
        order.save(update_fields=[*fields, "updated_at"])

    def order_profile(self, *, reference: str, plan_code: str) -> ProfileOrder:
        try:
            order, created = Es2Order.objects.get_or_create(
                reference=reference, defaults={"plan_code": plan_code})
        except IntegrityError:
            order, created = Es2Order.objects.get(reference=reference), False
        if order.state == Es2Order.State.CONFIRMED:
            return self._result(order)
        if order.state != Es2Order.State.NEW and order.state != Es2Order.State.ORDERED:
            raise FinalUpstreamError(f"ES2+ order {reference} is {order.state}",
                                     code="es2_order_closed")
        if order.state == Es2Order.State.NEW:
            self._download(order, retry=not created)
        answer = self.call("confirmOrder", {"iccid": order.upstream_iccid, "releaseFlag": True},
                           call_id=_call_id(reference, "confirmOrder"))
        matching_id = str(answer.get("matchingId") or "")
        if not matching_id:
            raise FinalUpstreamError("ES2+ confirmOrder answered without matchingId",
                                     code="es2_bad_answer")
        self._save(order, state=Es2Order.State.CONFIRMED, matching_id=matching_id,
                   smdp_address=str(answer.get("smdpAddress") or self.default_smdp))
        return self._result(order)

    def _download(self, order: Es2Order, *, retry: bool) -> None:
        if self.iccid_pool and not order.iccid:
            self._pool_iccid(order)
        body: dict[str, Any] = {}
        if order.upstream_iccid:
            body["iccid"] = order.upstream_iccid
        if self.profile_type:
            body["profileType"] = self.profile_type
        try:
            answer = self.call("downloadOrder", body,
                               call_id=_call_id(order.reference, "downloadOrder"))
        except FinalUpstreamError as error:
            data = getattr(error, "status_code_data", {})
            ours = retry and order.upstream_iccid and (
                (str(data.get("subjectCode")), str(data.get("reasonCode"))) == _ALREADY_ALLOCATED)
            if not ours:
                raise
            logger.info("ES2+ %s already allocated to order %s: confirming",
                        order.upstream_iccid, order.reference)
            answer = {"iccid": order.upstream_iccid}
        raw = str(answer.get("iccid") or "")
        try:
            iccid = normalize_iccid(raw)
        except ValidationFailed as error:
            raise FinalUpstreamError(f"ES2+ downloadOrder answered a bad ICCID {raw!r}",
                                     code="es2_bad_answer") from error
        try:
            self._save(order, iccid=iccid, upstream_iccid=raw, state=Es2Order.State.ORDERED)
        except IntegrityError as error:
            raise FinalUpstreamError(f"ES2+ ICCID {iccid} is already on another order",
                                     code="es2_duplicate_iccid") from error

    def _order_for(self, iccid: str) -> Es2Order | None:
        try:
            return Es2Order.objects.filter(iccid=normalize_iccid(iccid)).first()
        except ValidationFailed:
            return None

    def cancel_order(self, iccid: str, final_profile_status: str = "Available") -> None:
        """``cancelOrder``: undo an order not yet installed; the profile returns to the
        SM-DP+ as ``Available`` (reusable) or ``Unavailable``."""
        order = self._order_for(iccid)
        body: dict[str, Any] = {"iccid": order.upstream_iccid if order else iccid,
                                "finalProfileStatusIndicator": final_profile_status}
        if order and order.matching_id:
            body["matchingId"] = order.matching_id
        # A cancel is not tied to a reference; every call is a new function call.
        self.call("cancelOrder", body, call_id=f"esd-{uuid.uuid4().hex}")
        if order:
            self._save(order, state=Es2Order.State.CANCELLED)

    def release_profile(self, iccid: str) -> None:
        """``releaseProfile``: release a profile confirmed with ``releaseFlag=false``."""
        order = self._order_for(iccid)
        self.call("releaseProfile", {"iccid": order.upstream_iccid if order else iccid},
                  call_id=f"esd-{uuid.uuid4().hex}")

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
        """SGP.22 answers a notification with HTTP 204 and no body."""
        return 204, None

    def authenticate_callback(self, *, body: bytes, headers: Mapping[str, str],
                              remote_addr: str) -> None:
        """ES2+ signs nothing: the SM-DP+ proves itself with every credential configured,
        a bearer secret (``ESIMDESK_ES2PLUS_CALLBACK_TOKEN``) and/or a client certificate
        the TLS proxy verified and passed on in headers, believed only from
        ``ESIMDESK_TRUSTED_PROXIES`` (docs/providers/es2plus.md). With neither configured
        every callback is refused."""
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

    def parse_callback(self, *, body: bytes,
                       headers: Mapping[str, str]) -> list[UpstreamEvent]:
        """One ``handleDownloadProgressInfo``: point 3 (bound profile package downloaded)
        and point 4 (installed), when successful, are status events; a failed point is a
        ``failed`` event; other points are information (no event)."""
        from esimdesk.provisioning.suppliers.es2plus.callbacks import Malformed, parse

        try:
            fields = parse(body)
        except Malformed as error:
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
