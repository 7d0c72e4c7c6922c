"""Domain signals the orders app sends upward (the payments app listens).

``refund_due``: money must go back to the customer because of how a line was fulfilled: a
plan change whose credit exceeds the new price, or a top-up that found no plan running to
top up. Sent inside the fulfilment transaction, so the refund is recorded together with the
fulfilment or not at all. Keyword arguments:

- ``line``: the ``OrderLine`` the refund is about (audit, credit note reason);
- ``funded_by``: the ``OrderLine`` whose order's payment pays back first; when that is not
  enough (or has no payment) the payments app walks back through ``replaced_period``;
- ``amount``: ``core.money.Money``;
- ``reason``: short text for the refund record.
"""

from __future__ import annotations

from django.dispatch import Signal

refund_due = Signal()
