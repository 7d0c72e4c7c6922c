"""The business counters and histograms on ``/metrics`` (Prometheus text format).

Defined once here, low, so the app where an event happens counts it where it happens:
orders placed and paid (``orders.services``), payments by provider and outcome
(``payments.services``, ``payments.checkout``), activation time from payment to ready
(``orders.services``), supplier calls by supplier, operation and outcome with their latency
(``provisioning.registry``), automatic renewals by outcome (``payments.autorenew``) and usage
records ingested (``usage.services``, once per batch, never per record).

Counts made inside a transaction are added when it commits (``count_on_commit``): a rolled
back order is not counted. The values live in the process that counted them; with
``PROMETHEUS_MULTIPROC_DIR`` set (``esimdesk run`` sets it for its children) every process of
the machine writes there and ``/metrics`` adds them up (``core.views.metrics``). The
business figures of the console and ``GET /api/v1/ops/metrics`` are counted from the
database instead (``figures``), so they hold across restarts and machines.

Labels are bounded sets: provider and supplier names come from the configuration, outcomes
and operations from fixed lists, never from customer input.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from prometheus_client import Counter, Histogram

ORDERS_PLACED = Counter("esimdesk_orders_placed", "Orders placed (created, not yet paid).",
                        ["currency"])
ORDERS_PAID = Counter("esimdesk_orders_paid", "Orders marked paid.", ["currency"])
PAYMENTS = Counter("esimdesk_payments", "Payment outcomes as providers reported them or "
                   "starting failed: succeeded, declined, failed_to_start, "
                   "duplicate_refunded, …", ["provider", "outcome"])
ACTIVATION_SECONDS = Histogram(
    "esimdesk_activation_seconds", "From payment to the order fulfilled (eSIM ready).",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, float("inf")))
ACTIVATIONS_FAILED = Counter("esimdesk_activations_failed",
                             "Paid orders whose fulfilment gave up (needs attention).")
SUPPLIER_CALLS = Counter("esimdesk_supplier_calls", "Calls to upstream suppliers.",
                         ["supplier", "operation", "outcome"])
SUPPLIER_SECONDS = Histogram(
    "esimdesk_supplier_call_seconds", "Latency of calls to upstream suppliers.",
    ["supplier", "operation"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, float("inf")))
SUPPLIER_FAILOVERS = Counter("esimdesk_supplier_failovers",
                             "Activations moved on from a supplier to the next one.",
                             ["supplier"])
RENEWALS = Counter("esimdesk_renewals", "Automatic renewal attempts settled or declined: "
                   "succeeded, declined (a round every saved method declined), failed "
                   "(given up), pay_link_sent, superseded.", ["outcome"])
USAGE_BATCHES = Counter("esimdesk_usage_batches", "Batches of usage records ingested.")
USAGE_RECORDS = Counter("esimdesk_usage_records", "Usage records ingested, by outcome: "
                        "accepted, duplicate, rejected.", ["outcome"])


def count_on_commit(count: Callable[[], None]) -> None:
    """Run ``count`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(count)
