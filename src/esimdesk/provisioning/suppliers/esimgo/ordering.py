"""Ordering from eSIM Go exactly once: eSIM Go takes no client reference on ``POST /orders``,
so each esimdesk reference has an ``EsimGoOrder`` row, written before the order is sent (its
states are documented on the model). An order whose answer was lost is looked for in
``GET /orders`` (every page since it was sent, for its bundle and, applying a plan, its
ICCID, not held by another row) before anything is ordered again, and only after ``SETTLE``
does esimdesk conclude it was never made. Until then the row is *possibly allocated* and
audited (``esimgo.order_outcome_unknown``), so staff can reconcile it if fulfilment moves on
to another supplier. Bundle names: ``bundle_for``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from typing import Any
from urllib.parse import quote

from django.db import IntegrityError, transaction
from django.db.models import Count, Min

from esimdesk.core import audit, clock
from esimdesk.core.errors import ValidationFailed
from esimdesk.core.ids import iccid_with_check_digit, normalize_iccid
from esimdesk.core.models import AuditEntry
from esimdesk.provisioning.models import EsimGoOrder
from esimdesk.provisioning.suppliers.base import (
    FinalUpstreamError,
    RetryableUpstreamError,
    UpstreamError,
)
from esimdesk.provisioning.suppliers.esimgo.client import (
    EsimGoClient,
    NotSent,
    Refused,
    one_line,
    records,
)

logger = logging.getLogger(__name__)

# How far before the order was sent it may appear upstream (clock skew), and how long an
# order without a clear answer is looked for before esimdesk concludes it does not exist.
RECOVERY_SLACK = dt.timedelta(minutes=2)
SETTLE = dt.timedelta(minutes=3)
#: A lost order is settled by the next try (fulfilment retries within two minutes, tasks
#: within five: the order is found, or sent again after ``SETTLE``). One still possibly
#: allocated this long after it was sent was given up on or failed over: staff reconcile.
ALERT_AFTER = dt.timedelta(minutes=10)
ORDER_PAGES, PAGE_SIZE = 20, 100

#: Staff-edited exceptions to the naming rule (plan code -> eSIM Go catalogue bundle name).
BUNDLES: dict[str, str] = {}

_PLAN = re.compile(r"^(?P<area>[a-z0-9]+)-(?P<gb>\d+)gb-(?P<term>day|week|month)$")
_DAYS = {"day": 1, "week": 7, "month": 30}
# eSIM Go's names: letters, digits and underscores, e.g. esim_1GB_7D_NL_V2, A_BUNDLE_1GB.
_BUNDLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


def bundle_for(code: str) -> str:
    """The eSIM Go bundle name ``code`` stands for. ``code`` is the plan's eSIM Go supplier
    bundle (``catalog.bundles``), or the plan's own code when it maps none:

    1. ``BUNDLES`` names it: that name;
    2. a plan code in the shape ``jp-10gb-month``: ``esim_10GB_30D_JP_V2`` (eSIM Go's
       naming);
    3. a catalogue name (with an underscore, e.g. ``esim_1GB_7D_NL_V2``): sent as it is,
       case kept (eSIM Go's names are case-sensitive);

    anything else: ``FinalUpstreamError(code="esimgo_no_bundle")``, nothing is sent.
    A name eSIM Go does not know is found when ordering (``esimgo_unknown_bundle``)."""
    if code in BUNDLES:
        return BUNDLES[code]
    match = _PLAN.match(code)
    if match is not None:
        return (f"esim_{match['gb']}GB_{_DAYS[match['term']]}D_"
                f"{match['area'].upper()}_V2")
    if "_" in code and _BUNDLE_NAME.match(code):
        return code
    raise FinalUpstreamError(f"no eSIM Go bundle for plan {code!r}", code="esimgo_no_bundle")


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
    raise FinalUpstreamError(f"eSIM Go returned an invalid ICCID {one_line(str(value), 40)!r}",
                             code="esimgo_invalid_iccid")


def mark_reconciled(*, pks: list[int], actor: str) -> int:
    """Staff checked eSIM Go's portal for these *possibly allocated* orders and dealt with
    what they found (revoked an order nobody got, or found none). Only rows still possibly
    allocated move, each audited (``esimgo.order_reconciled``); returns how many. Meant for
    rows fulfilment gave up on: a later try with the same reference orders again."""
    done = 0
    with transaction.atomic():
        for row in (EsimGoOrder.objects.select_for_update()
                    .filter(pk__in=pks, state=EsimGoOrder.State.UNKNOWN).order_by("pk")):
            row.state = EsimGoOrder.State.RECONCILED
            row.save(update_fields=["state"])
            audit.record(action="esimgo.order_reconciled", obj=row,
                          actor_type=AuditEntry.ActorType.STAFF, actor=actor,
                          before={"state": EsimGoOrder.State.UNKNOWN},
                          after={"state": EsimGoOrder.State.RECONCILED})
            done += 1
    return done


def still_possibly_allocated(now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """How many orders are *possibly allocated* and were sent more than ``ALERT_AFTER``
    before ``now`` (an order in flight, or one the next try will settle, is not counted),
    and when the oldest was sent (one query)."""
    found = EsimGoOrder.objects.filter(
        state=EsimGoOrder.State.UNKNOWN, requested_at__lt=now - ALERT_AFTER).aggregate(
        count=Count("pk"), oldest=Min("requested_at"))
    return int(found["count"]), found["oldest"]


class Ordering:
    """``order_profile`` and ``apply_plan``'s half of the adapter, over one client."""

    def __init__(self, client: EsimGoClient) -> None:
        self.client = client

    def row(self, *, reference: str, kind: str, plan_code: str,
            target_iccid: str = "") -> EsimGoOrder:
        bundle = bundle_for(plan_code)
        try:
            with transaction.atomic():
                return EsimGoOrder.objects.create(
                    reference=reference, kind=kind, plan_code=plan_code, bundle=bundle,
                    target_iccid=target_iccid, requested_at=clock.now())
        except IntegrityError:
            row = EsimGoOrder.objects.get(reference=reference)
        if row.kind != kind or row.target_iccid != target_iccid:
            raise FinalUpstreamError(f"reference {reference} was used for another request",
                                     code="esimgo_reference_reused")
        if row.bundle != bundle:
            if row.state not in (EsimGoOrder.State.NEW, EsimGoOrder.State.REFUSED,
                                 EsimGoOrder.State.RECONCILED):
                raise FinalUpstreamError(
                    f"reference {reference} already ordered {row.bundle}, not {bundle}",
                    code="esimgo_reference_reused")
            # Nothing was ordered under the old bundle (staff changed the plan's bundle).
            row.plan_code, row.bundle = plan_code, bundle
            row.save(update_fields=["plan_code", "bundle"])
        return row

    def ensure_ordered(self, row: EsimGoOrder) -> None:
        """Make sure exactly one eSIM Go order exists for ``row`` and remember its
        reference. After an order with no clear answer, look for it before ordering."""
        if row.order_reference:
            return
        if row.state == EsimGoOrder.State.UNKNOWN:
            found = self._find_lost_order(row)
            if found is not None:
                self._adopt(row, found, recovered=True)
                return
            if clock.now() < row.requested_at + SETTLE:
                raise RetryableUpstreamError(
                    f"eSIM Go order for {row.reference} had no clear answer and is not listed "
                    "yet: looking again before ordering again", code="esimgo_outcome_unknown")
            logger.info("eSIM Go order for %s not found after %s: ordering again",
                        row.reference, SETTLE)
        self._send_order(row)

    def _send_order(self, row: EsimGoOrder) -> None:
        item: dict[str, Any] = {"type": "bundle", "quantity": 1, "item": row.bundle,
                                "allowReassign": False}  # never a plan on another eSIM
        if row.target_iccid:
            item["iccids"] = [row.target_iccid]
        # Written before the call, and only by one worker: a crash or a lost answer leaves it
        # "possibly allocated", and a second worker on the same reference never sends too.
        sent_at = clock.now()
        if not EsimGoOrder.objects.filter(
                pk=row.pk, state=row.state, requested_at=row.requested_at,
                order_reference="").update(state=EsimGoOrder.State.UNKNOWN,
                                           requested_at=sent_at, last_error=""):
            raise RetryableUpstreamError(f"eSIM Go order for {row.reference} is being sent by "
                                         "another worker", code="esimgo_outcome_unknown")
        row.state, row.requested_at, row.last_error = EsimGoOrder.State.UNKNOWN, sent_at, ""
        try:
            answer = self.client.call("POST", "/orders", json={
                "type": "transaction", "assign": True, "order": [item]})
        except NotSent as error:
            self._set(row, EsimGoOrder.State.NEW, last_error=str(error))
            raise
        except Refused as error:
            refusal = self._refusal(row, error)
            self._set(row, EsimGoOrder.State.REFUSED, last_error=str(refusal))
            raise refusal from error
        except FinalUpstreamError as error:  # configuration or TLS: nothing was sent
            self._set(row, EsimGoOrder.State.NEW, last_error=str(error))
            raise
        except UpstreamError as error:
            raise self._unknown(row, str(error)) from error
        reference = str(answer.get("orderReference") or "") if isinstance(answer, dict) else ""
        if not reference:
            raise self._unknown(row, f"eSIM Go order answer without orderReference: "
                                     f"{one_line(str(answer), 80)}")
        if not self._adopt(row, reference, recovered=False):
            # A recovering request adopted this order first: it is theirs, ours was not made.
            self._set(row, EsimGoOrder.State.NEW, last_error="order adopted by another request")
            raise RetryableUpstreamError(f"eSIM Go order {reference} went to another request",
                                         code="esimgo_outcome_unknown")
        if row.kind == "profile":
            for line in records(answer, "order"):
                esims = records(line, "esims")
                if esims and esims[0].get("smdpAddress") and esims[0].get("matchingId"):
                    self._take_install(row, esims[0])
                    break

    def _refusal(self, row: EsimGoOrder, error: Refused) -> FinalUpstreamError:
        """eSIM Go refused the order: an unknown bundle gets its own code, so fulfilment
        moves to the next supplier and staff see which bundle name is wrong."""
        if error.code != "esimgo_refused":
            return error
        if error.status == 404:  # /orders always exists: the base URL is wrong
            return FinalUpstreamError(
                f"eSIM Go has no /orders at {self.client.base} (404: {error.detail}): check "
                "ESIMDESK_ESIMGO_API_BASE", code="esimgo_misconfigured")
        try:
            self.client.call("GET", f"/catalogue/bundle/{quote(row.bundle, safe='')}")
        except Refused as unknown:
            if unknown.status in (400, 404):
                return FinalUpstreamError(
                    f"eSIM Go has no bundle {row.bundle!r} (plan {row.plan_code}): "
                    f"{error.detail}", code="esimgo_unknown_bundle")
        except UpstreamError:
            pass  # the catalogue cannot say: keep eSIM Go's own refusal
        return error

    def _unknown(self, row: EsimGoOrder, why: str) -> RetryableUpstreamError:
        self._set(row, EsimGoOrder.State.UNKNOWN, last_error=why)
        audit.record(action="esimgo.order_outcome_unknown", obj=row,
                     actor_type=AuditEntry.ActorType.SYSTEM, actor="esimgo",
                     after={"reference": row.reference, "bundle": row.bundle,
                            "target_iccid": row.target_iccid}, reason=why[:500])
        return RetryableUpstreamError(
            f"eSIM Go order for {row.reference}: outcome unknown ({one_line(why, 120)}); "
            "possibly allocated, looked up before any new order", code="esimgo_outcome_unknown")

    def _set(self, row: EsimGoOrder, state: str, **fields: Any) -> None:
        row.state = state
        for name, value in fields.items():
            setattr(row, name, value[:200] if name == "last_error" else value)
        row.save(update_fields=["state", *fields])

    def _adopt(self, row: EsimGoOrder, reference: str, *, recovered: bool) -> bool:
        """Record ``reference`` as ``row``'s order; False if another row holds it."""
        row.order_reference = reference
        row.state = (EsimGoOrder.State.READY if row.kind == "plan"
                     else EsimGoOrder.State.ORDERED)
        try:
            with transaction.atomic():
                row.save(update_fields=["order_reference", "state"])
        except IntegrityError as error:
            row.order_reference = ""
            if recovered:
                raise RetryableUpstreamError(f"eSIM Go order {reference} was just adopted by "
                                             "another request",
                                             code="esimgo_outcome_unknown") from error
            return False
        if recovered:
            logger.info("eSIM Go order %s recovered for %s", reference, row.reference)
            audit.record(action="esimgo.order_recovered", obj=row,
                         actor_type=AuditEntry.ActorType.SYSTEM, actor="esimgo",
                         before={"state": EsimGoOrder.State.UNKNOWN},
                         after={"order_reference": reference})
        return True

    def _find_lost_order(self, row: EsimGoOrder) -> str | None:
        """The oldest order since ``row`` was sent, for its bundle (and, applying a plan, its
        ICCID), that no other row holds. Every page is read: an order missed here would be
        bought twice."""
        since = (row.requested_at - RECOVERY_SLACK).astimezone(dt.UTC)
        claimed = set(EsimGoOrder.objects.exclude(pk=row.pk).exclude(order_reference="")
                      .values_list("order_reference", flat=True))
        known = {i for pair in EsimGoOrder.objects.exclude(pk=row.pk)
                 .values_list("iccid", "target_iccid") for i in pair if i}
        matches: list[tuple[str, str]] = []
        for page in range(1, ORDER_PAGES + 1):
            answer = self.client.call("GET", "/orders", params={
                "createdAt": f"gte:{since.strftime('%Y-%m-%dT%H:%M:%S.000Z')}",
                "limit": str(PAGE_SIZE), "page": str(page)})
            orders = records(answer, "orders")
            for order in orders:
                reference = str(order.get("orderReference") or "")
                if reference and reference not in claimed and self._same(row, order, known):
                    matches.append((str(order.get("createdDate") or ""), reference))
            count = answer.get("pageCount") if isinstance(answer, dict) else None
            if len(orders) < PAGE_SIZE or (isinstance(count, int) and page >= count):
                break
        else:
            raise RetryableUpstreamError(f"more than {ORDER_PAGES * PAGE_SIZE} eSIM Go orders "
                                         "to search: staff must reconcile "
                                         f"{row.reference}", code="esimgo_outcome_unknown")
        return min(matches)[1] if matches else None

    @staticmethod
    def _same(row: EsimGoOrder, order: dict[str, Any], known: set[str]) -> bool:
        for item in records(order, "order"):
            if item.get("item") != row.bundle:
                continue
            iccids = {str(i) for i in item.get("iccids") or []}
            if row.target_iccid and row.target_iccid in iccids:
                return True
            # A new eSIM's order names no ICCID esimdesk already holds.
            if not row.target_iccid and not iccids & known:
                return True
        return False

    def fetch_assignment(self, row: EsimGoOrder) -> None:
        answer = self.client.call("GET", "/esims/assignments",
                                  params={"reference": row.order_reference})
        esims = records(answer, "esims")
        if not esims or not esims[0].get("smdpAddress") or not esims[0].get("matchingId"):
            # Large or slow orders are asynchronous: the order exists, the eSIM comes later.
            raise RetryableUpstreamError(f"eSIM Go order {row.order_reference} not assigned yet",
                                         code="esimgo_pending")
        self._take_install(row, esims[0])

    def _take_install(self, row: EsimGoOrder, esim: dict[str, Any]) -> None:
        row.iccid = clean_iccid(str(esim.get("iccid", "")), order=row)
        row.smdp_address = str(esim["smdpAddress"])[:253]
        row.matching_id = str(esim["matchingId"])[:255]
        row.state = EsimGoOrder.State.READY
        row.save(update_fields=["iccid", "smdp_address", "matching_id", "state"])
