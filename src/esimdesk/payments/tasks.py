"""The payments' tasks live beside what they run (``refunds.execute_refund_task``,
``autorenew.charge_renewal_task``). Tasks queued before they moved carry this module's paths,
so the names still resolve here."""

from __future__ import annotations

from esimdesk.payments.autorenew import charge_renewal_task
from esimdesk.payments.refunds import execute_refund_task

__all__ = ["charge_renewal_task", "execute_refund_task"]
