"""The ``alerts`` sweep: thresholds over the business figures, one alert per incident.

Each run works out which incidents hold now (``evaluate``): a supplier whose calls fail too
often in the last hour, whose last calls all failed, that new eSIMs fail over from too
often in the last hour, or whose records hold profiles possibly allocated; activations
piling up or waiting too long; automatic renewals declining above a rate over the last
day; a conversation waiting too long for its first answer; a profile revoked here but not
cancelled at its supplier. An incident not yet open is opened (and
``ESIMDESK_OPS_EMAIL`` told once, through the outbox); an open one that no longer holds is
closed; one that holds again later is a new incident. The thresholds are settings
(``ESIMDESK_ALERT_*``, docs/staff-console.md; what each supplier alert means and what to do:
docs/operations.md). The scheduler runs the sweep every ``ESIMDESK_SCHEDULER_INTERVAL``
seconds, so an incident is alerted within a minute of the call that makes it. Two sweeps at
once cannot open the same incident twice: ``Alert.open_key`` is unique while the alert is
open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from esimdesk import config
from esimdesk.console.models import Alert
from esimdesk.core import clock
from esimdesk.esims import upstream_revoke
from esimdesk.figures.figures import (
    FAILURES,
    SupplierHealth,
    Window,
    activations,
    during,
    renewals,
    supplier_health,
)
from esimdesk.notifications import services as notifications
from esimdesk.orders.kinds.new_esim import KIND as NEW_ESIM
from esimdesk.orders.models import OrderLine
from esimdesk.provisioning.models import SupplierCall
from esimdesk.provisioning.registry import label as upstream_label
from esimdesk.provisioning.registry import possibly_allocated
from esimdesk.support.models import Conversation

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
#: At most this many waiting conversations are alerted on at once (the oldest).
CHAT_LIMIT = 20
#: A run of failed calls is counted up to this many (the alert says "the last 100").
STREAK_LIMIT = 100
#: At most this many profiles not cancelled upstream are alerted on at once (the oldest).
REVOKE_LIMIT = 50


@dataclass(frozen=True)
class Incident:
    kind: str
    subject: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"


def _number(name: str) -> int:
    return int(config.env(name))


def _minutes(since: dt.datetime | None, now: dt.datetime) -> int:
    return int((now - since).total_seconds() // 60) if since else 0


def evaluate(now: dt.datetime | None = None) -> list[Incident]:
    """The incidents that hold at ``now``: a fixed number of queries (and one more per
    supplier watched, for its latest calls, and one per supplier that keeps records of
    profiles possibly allocated)."""
    now = now or clock.now()
    found: list[Incident] = []
    found += _suppliers(supplier_health(Window.of(now - HOUR, now)), now)
    waiting = activations(Window.of(now - DAY, now))
    oldest = _minutes(waiting.oldest_waiting, now)
    if (waiting.waiting >= _number("ESIMDESK_ALERT_ACTIVATIONS_WAITING")
            or (waiting.waiting and oldest > _number("ESIMDESK_ALERT_ACTIVATION_MINUTES"))):
        found.append(Incident(Alert.Kind.ACTIVATIONS, "", {
            "waiting": waiting.waiting, "oldest_minutes": oldest}))
    settled = renewals(Window.of(now - DAY, now))
    total = settled.succeeded + settled.declined
    if (total >= _number("ESIMDESK_ALERT_RENEWAL_MIN_COUNT") and settled.declined * 100 > (
            _number("ESIMDESK_ALERT_RENEWAL_DECLINE_PERCENT") * total)):
        found.append(Incident(Alert.Kind.RENEWALS, "", {
            "declined": settled.declined, "settled": total}))
    late = now - dt.timedelta(minutes=_number("ESIMDESK_ALERT_CHAT_MINUTES"))
    for pk, created in (Conversation.objects.filter(first_reply_at__isnull=True,
                                                    created_at__lt=late)
                        .exclude(status=Conversation.Status.RESOLVED)
                        .order_by("created_at").values_list("pk", "created_at")[:CHAT_LIMIT]):
        found.append(Incident(Alert.Kind.CHAT, str(pk), {
            "conversation": pk, "minutes": _minutes(created, now)}))
    found.extend(_profiles_not_cancelled())
    found.extend(_possibly_allocated(now))
    return found


def _suppliers(health: list[SupplierHealth], now: dt.datetime) -> list[Incident]:
    """The three ways a supplier alerts (docs/operations.md, "Supplier alerts")."""
    found: list[Incident] = []
    min_calls = _number("ESIMDESK_ALERT_SUPPLIER_MIN_CALLS")
    failure_percent = _number("ESIMDESK_ALERT_SUPPLIER_FAILURE_PERCENT")
    in_a_row = _number("ESIMDESK_ALERT_SUPPLIER_FAILURES_IN_A_ROW")
    min_failovers = _number("ESIMDESK_ALERT_SUPPLIER_FAILOVERS")
    failover_percent = _number("ESIMDESK_ALERT_FAILOVER_PERCENT")
    done = _new_esims_by_supplier(Window.of(now - HOUR, now)) if any(
        h.failovers for h in health) else {}
    for each in health:
        if each.calls >= min_calls and each.failures * 100 > failure_percent * each.calls:
            found.append(Incident(Alert.Kind.SUPPLIER, each.name, {
                "supplier": each.label, "calls": each.calls, "failures": each.failures,
                "failovers": each.failovers}))
        streak = _failures_in_a_row(each.name) if in_a_row else 0
        if in_a_row and streak >= in_a_row:
            found.append(Incident(Alert.Kind.SUPPLIER_IN_A_ROW, each.name, {
                "supplier": each.label, "in_a_row": streak}))
        tried = each.failovers + done.get(each.name, 0)
        if min_failovers and each.failovers >= min_failovers and \
                each.failovers * 100 > failover_percent * tried:
            found.append(Incident(Alert.Kind.FAILOVER_SHARE, each.name, {
                "supplier": each.label, "failovers": each.failovers, "activations": tried}))
    return found


def _failures_in_a_row(supplier: str) -> int:
    """How many of the supplier's latest calls failed, newest first, up to the first that
    did not (one query, at most ``STREAK_LIMIT`` rows)."""
    streak = 0
    for outcome in (SupplierCall.objects.filter(supplier=supplier)
                    .exclude(outcome=SupplierCall.Outcome.NOT_SUPPORTED)
                    .order_by("-at", "-pk").values_list("outcome", flat=True)[:STREAK_LIMIT]):
        if outcome not in FAILURES:
            break
        streak += 1
    return streak


def _new_esims_by_supplier(window: Window) -> dict[str, int]:
    """New eSIMs whose profile came from each supplier in the window (one query)."""
    return {row["esim__upstream"]: row["n"] for row in (
        OrderLine.objects.filter(during(window, "fulfilled_at"), type=NEW_ESIM.type,
                                 esim__isnull=False)
        .values("esim__upstream").annotate(n=Count("pk")).order_by())}
def _profiles_not_cancelled() -> list[Incident]:
    """One incident per revoked eSIM whose supplier refused, cannot, or could not be
    reached to cancel the profile (``esims.upstream_revoke``), until staff settle it."""
    return [Incident(Alert.Kind.UPSTREAM_REVOKE, str(row.esim_id), {
        "iccid": row.esim.iccid, "supplier": upstream_label(row.supplier),
        "status": row.status, "code": row.code or "-", "message": row.message or "-",
        "attempts": row.attempts}) for row in upstream_revoke.needing_action(REVOKE_LIMIT)]


def _possibly_allocated(now: dt.datetime) -> list[Incident]:
    """One incident per supplier whose records hold profiles *possibly allocated* (calls
    whose outcome was lost, waiting for staff to reconcile them with the supplier; each
    supplier says which through ``UpstreamProvider.possibly_allocated``)."""
    return [Incident(Alert.Kind.POSSIBLY_ALLOCATED, name, {
        "supplier": upstream_label(name), "count": held.count,
        "oldest_minutes": _minutes(held.oldest, now)})
        for name, held in possibly_allocated(now)]


def describe(kind: str, details: dict[str, Any]) -> str:
    """One sentence about an incident, in the active language."""
    if kind == Alert.Kind.SUPPLIER:
        return _("%(supplier)s: %(failures)s of %(calls)s calls failed and %(failovers)s "
                 "activations failed over in the last hour.") % details
    if kind == Alert.Kind.SUPPLIER_IN_A_ROW:
        return _("%(supplier)s: the last %(in_a_row)s calls to it all failed.") % details
    if kind == Alert.Kind.FAILOVER_SHARE:
        return _("%(supplier)s: %(failovers)s of %(activations)s new eSIMs tried there in "
                 "the last hour failed over to the next supplier.") % details
    if kind == Alert.Kind.ACTIVATIONS:
        return _("%(waiting)s activations waiting; the oldest for %(oldest_minutes)s "
                 "minutes.") % details
    if kind == Alert.Kind.RENEWALS:
        return _("%(declined)s of %(settled)s automatic renewals declined in the last "
                 "day.") % details
    if kind == Alert.Kind.CHAT:
        return _("Conversation %(conversation)s has waited %(minutes)s minutes for a first "
                 "answer.") % details
    if kind == Alert.Kind.UPSTREAM_REVOKE:
        return _describe_revoke(details)
    if kind == Alert.Kind.POSSIBLY_ALLOCATED:
        return ngettext(
            "%(count)s profile possibly allocated at %(supplier)s (the oldest call "
            "%(oldest_minutes)s minutes ago): reconcile it with the supplier, then mark it "
            "reconciled.",
            "%(count)s profiles possibly allocated at %(supplier)s (the oldest call "
            "%(oldest_minutes)s minutes ago): reconcile them with the supplier, then mark "
            "them reconciled.", int(details.get("count", 0))) % details
    return str(details)


def _describe_revoke(details: dict[str, Any]) -> str:
    if details.get("status") == "not_supported":
        return _("eSIM %(iccid)s is revoked, but %(supplier)s cannot cancel its profile "
                 "(%(code)s: %(message)s): bar the ICCID in the network, then mark the "
                 "cancellation settled.") % details
    if details.get("status") == "failed":
        return _("eSIM %(iccid)s is revoked, but %(supplier)s could not be reached to cancel "
                 "its profile after %(attempts)s tries (%(code)s: %(message)s): its "
                 "activation code may still work. Try again.") % details
    return _("eSIM %(iccid)s is revoked, but %(supplier)s refused to cancel its profile "
             "(%(code)s: %(message)s): its activation code may still work. Try again or "
             "settle it with the supplier.") % details


def _tell(alert: Alert) -> None:
    ops = config.env("ESIMDESK_OPS_EMAIL")
    if not ops:
        return
    label = Alert.Kind(alert.kind).label
    text = describe(alert.kind, alert.details)
    link = settings.PUBLIC_URL + reverse("console_alerts")
    notifications.send_email(
        to=ops, kind="ops_alert", subject=f"esimdesk alert: {label}: {text}",
        body_text=f"{text}\n\nOpened {alert.opened_at:%Y-%m-%d %H:%M} UTC. It closes by "
                  f"itself when it clears; every alert: {link}\n",
        dedupe_key=f"alert:{alert.pk}")
    Alert.objects.filter(pk=alert.pk).update(emailed=True)


def alerts_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Open the incidents that hold and are not open, close the open ones that cleared."""
    now = now or clock.now()
    holding = {incident.key: incident for incident in evaluate(now)}
    opened = closed = 0
    for alert in Alert.objects.filter(open_key__isnull=False):
        incident = holding.get(alert.open_key or "")
        if incident is None:
            closed += Alert.objects.filter(pk=alert.pk, open_key=alert.open_key).update(
                open_key=None, closed_at=now)
        elif incident.details != alert.details:
            Alert.objects.filter(pk=alert.pk).update(details=incident.details)
        holding.pop(alert.open_key or "", None)
    for incident in holding.values():
        if open_incident(incident, now) is not None:
            opened += 1
    return {"opened": opened, "closed": closed}


def open_incident(incident: Incident, now: dt.datetime) -> Alert | None:
    """Open ``incident`` and tell the operations mailbox; None when it is open already
    (another sweep opened it since this one looked: the unique ``open_key`` refuses it)."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(kind=incident.kind, subject=incident.subject,
                                         open_key=incident.key, opened_at=now,
                                         details=incident.details)
            _tell(alert)
    except IntegrityError:
        return None
    return alert
