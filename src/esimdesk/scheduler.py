"""The periodic sweeps. ``esimdesk scheduler`` runs them in a loop; each one is also
``esimdesk manage sweep NAME`` for cron. Every sweep is set-based and idempotent, so running
one twice, or on two machines at once, does no harm."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import close_old_connections

from esimdesk.accounts.counters import sweep_expired
from esimdesk.core import sweeps
from esimdesk.core.heartbeat import beat
from esimdesk.orders.overdue import overdue_activations_sweep
from esimdesk.payments.autorenew import renewals_sweep
from esimdesk.payments.sweeps import payments_sweep
from esimdesk.provisioning.calls import forget_old_calls
from esimdesk.sharedplans.invoicing import issue_invoices
from esimdesk.subscriptions.expiry import expiry_sweep
from esimdesk.subscriptions.reminders import reminders_sweep
from esimdesk.subscriptions.services import sync_period_states
from esimdesk.support.conversations import escalate_unanswered

logger = logging.getLogger("esimdesk.scheduler")

# Plug-in apps add theirs to the same registry from their ready() (core.sweeps.register).
SWEEPS = sweeps.SWEEPS
SWEEPS.update({
    "periods": sync_period_states,
    "renewals": renewals_sweep,
    "reminders": reminders_sweep,
    "payments": payments_sweep,
    "expiry": expiry_sweep,
    "support_escalation": escalate_unanswered,
    "invoices": issue_invoices,
    "signin_counters": sweep_expired,
    "supplier_calls": forget_old_calls,
    "activations": overdue_activations_sweep,
})


def run_sweep(name: str) -> Any:
    return SWEEPS[name]()


def loop(interval: float, *, once: bool = False) -> None:
    while True:
        close_old_connections()
        for name, sweep in SWEEPS.items():
            try:
                result = sweep()
                logger.info("sweep %s: %s", name, result)
            except Exception:  # one failing sweep must not stop the others
                logger.exception("sweep %s failed", name)
        beat("scheduler")
        if once:
            return
        time.sleep(interval)
