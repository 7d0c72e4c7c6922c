"""Usage that suppliers report, charged once (``provisioning.receivers``'s
``UsageReceiver``, provided in ``UsageConfig.ready``).

Deltas go to ``services.ingest`` (unique per record id there). A running total
(``UsageRecord.running_total_key``) is the total minus what esimdesk already charged under
that key, charged as one delta under a lock on the eSIM row, so two totals arriving
together cannot both charge the same bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Sum

from esimdesk.core import clock
from esimdesk.esims.models import Esim
from esimdesk.provisioning.suppliers.base import UsageRecord
from esimdesk.usage import services
from esimdesk.usage.models import UsageEvent

logger = logging.getLogger(__name__)


class SupplierUsage:
    def ingest(self, *, source: str,
               records: Iterable[Mapping[str, Any]]) -> services.IngestResult:
        return services.ingest(source=source, records=records)

    def running_total(self, *, provider: str, record: UsageRecord) -> str:
        key = record.running_total_key
        with transaction.atomic():
            # A row lock on PostgreSQL; SQLite serialises writers anyway.
            locked = Esim.objects.select_for_update().filter(iccid=record.iccid).first()
            if locked is None:
                logger.warning("%s usage for unknown ICCID %s ignored", provider,
                               record.iccid)
                return "unknown_iccid"
            seen = UsageEvent.objects.filter(source=provider, external_id__startswith=key)
            already = int(seen.aggregate(total=Sum("quantity"))["total"] or 0)
            if record.quantity <= already or seen.filter(external_id=record.record_id).exists():
                return "duplicate"  # a replay, or an older total arriving late
            ingested = services.ingest(source=provider, records=[{
                "id": record.record_id, "iccid": record.iccid, "kind": record.kind,
                "quantity": record.quantity - already,
                "occurred_at": (record.occurred_at or clock.now()).isoformat()}])
        if ingested.accepted:
            return "accepted"
        if ingested.duplicates:
            return "duplicate"
        return ingested.rejected[0][1] if ingested.rejected else "rejected"


RECEIVER = SupplierUsage()
