"""eSIM writes: creation from an upstream profile, labels, status transitions."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from esimdesk.core import audit, clock
from esimdesk.core.errors import NotFound, ValidationFailed
from esimdesk.core.ids import ActivationCode, normalize_iccid
from esimdesk.esims.models import ESIM_STATES, Esim

MAX_LABEL = 60


def create_esim(*, owner: Any, iccid: str, smdp_address: str, matching_id: str,
                confirmation_code: str = "", upstream: str, upstream_reference: str = "") -> Esim:
    """Record a profile obtained upstream. Validates the ICCID and the activation code."""
    number = normalize_iccid(iccid)
    ActivationCode(smdp_address, matching_id)  # refuses malformed install data
    esim = Esim.objects.create(owner=owner, iccid=number, smdp_address=smdp_address,
                               matching_id=matching_id, confirmation_code=confirmation_code,
                               upstream=upstream, upstream_reference=upstream_reference)
    audit.record(action="esim.create", obj=esim, actor_type="task", actor="fulfilment",
                 after={"iccid": number, "status": esim.status, "upstream": upstream})
    return esim


def get_for_owner(*, user: Any, iccid: str) -> Esim:
    """The user's eSIM; someone else's ICCID is answered exactly like an unknown one."""
    try:
        number = normalize_iccid(iccid)
    except ValidationFailed:
        raise NotFound(code="unknown_esim", detail={"iccid": iccid}) from None
    try:
        return Esim.objects.get(iccid=number, owner=user)
    except Esim.DoesNotExist:
        raise NotFound(code="unknown_esim", detail={"iccid": iccid}) from None


def set_label(*, user: Any, esim: Esim, label: str) -> Esim:
    text = " ".join((label or "").split())
    if len(text) > MAX_LABEL:
        raise ValidationFailed(code="label_too_long", detail={"max_length": MAX_LABEL})
    with transaction.atomic():
        before = esim.label
        esim.label = text
        esim.save(update_fields=["label"])
        audit.record_by_user(user=user, action="esim.label", obj=esim, before={"label": before},
                             after={"label": text})
    return esim


def transition(*, esim: Esim, to: str, actor_type: str, actor: str, reason: str = "") -> Esim:
    with transaction.atomic():
        locked = Esim.objects.select_for_update().get(pk=esim.pk)
        if locked.status == to:
            return locked
        ESIM_STATES.check(locked.status, to)
        before = locked.status
        locked.status = to
        fields = ["status"]
        if to in (Esim.Status.INSTALLED, Esim.Status.IN_USE) and locked.installed_at is None:
            locked.installed_at = clock.now()
            fields.append("installed_at")
        locked.save(update_fields=fields)
        audit.record(action="esim.status", obj=locked, actor_type=actor_type, actor=actor,
                     before={"status": before}, after={"status": to}, reason=reason)
    return locked
