"""Organisations: assign eSIMs to employees from a CSV file.

Columns (header row required, names case-insensitive, order free): ``email`` and/or
``phone`` (one is required), optional ``name``, ``employee_ref``, ``cost_centre`` (a code
the organisation already has), ``cap_gb`` (whole gigabytes) and ``language`` (``en`` or
``zh-hans``). Every row is checked on its own first and the bad ones are reported by line
number (the header is line 1) with a code and a translated reason. Then the valid rows are
applied together, in one transaction: each employee gets an account if they have none, a
membership, and a new eSIM ordered in the background with the pool's plan, and is told in
their language. If the valid rows do not fit in the seats paid for, nothing is applied.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from esimdesk.accounts.phones import normalize_phone
from esimdesk.catalog.models import GB
from esimdesk.core import audit
from esimdesk.core.errors import MESSAGES, Conflict, DomainError, ValidationFailed
from esimdesk.groups import services as groups
from esimdesk.groups.models import CostCentre, Group, Membership
from esimdesk.notifications import services as notifications
from esimdesk.sharedplans.members import member_esim_task
from esimdesk.sharedplans.pool_reminders import group_url

MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024
LANGUAGES = ("en", "zh-hans")


@dataclass(frozen=True)
class Row:
    line: int
    email: str
    phone: str
    name: str
    employee_ref: str
    cost_centre: CostCentre | None
    cap_bytes: int | None
    language: str


@dataclass
class ImportReport:
    assigned: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"assigned": self.assigned, "rejected": self.rejected}


def _reason(line: int, code: str, message: str) -> dict[str, Any]:
    return {"line": line, "code": code, "message": message}


def parse(*, group: Group, data: bytes) -> tuple[list[Row], list[dict[str, Any]]]:
    """Check every row; answers (valid rows, rejections by line). Changes nothing."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(code="file_too_large", detail={"max_bytes": MAX_BYTES})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(_("The file must be CSV in UTF-8."), code="invalid_csv") from None
    reader = csv.DictReader(io.StringIO(text))
    headers = {(h or "").strip().lower() for h in reader.fieldnames or []}
    if not headers & {"email", "phone"}:
        raise ValidationFailed(_("The first line must name the columns, with email or phone."),
                               code="invalid_csv")
    centres = {c.code: c for c in CostCentre.objects.filter(group=group)}
    User = get_user_model()
    members = set(Membership.active.filter(group=group).values_list("user_id", flat=True))
    valid: list[Row] = []
    rejected: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise ValidationFailed(code="too_many_rows", detail={"max": MAX_ROWS})
        values = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()
                  if not isinstance(v, list)}
        if not any(values.values()):
            continue  # a blank line is not a mistake
        try:
            row = _row(number, values, centres)
        except DomainError as error:
            rejected.append(_reason(number, error.code, str(error.message)))
            continue
        keys = {k for k in (row.email, row.phone) if k}
        if keys & seen:
            rejected.append(_reason(number, "duplicate_row",
                                    _("This person is already on an earlier line.")))
            continue
        seen |= keys
        existing = _existing_user(User, row)
        if existing is not None and existing.pk in members:
            rejected.append(_reason(number, "already_member",
                                    _("This person is already in the organisation.")))
            continue
        valid.append(row)
    return valid, rejected


def _row(number: int, values: dict[str, str], centres: dict[str, CostCentre]) -> Row:
    email = values.get("email", "").lower()
    phone = values.get("phone", "")
    if not email and not phone:
        raise ValidationFailed(MESSAGES["email_or_phone"],
                               code="invitation_address_required")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationFailed(MESSAGES["invalid_email"],
                                   code="invalid_email") from None
    if phone:
        phone = normalize_phone(phone)
    code = values.get("cost_centre", "")
    if code and code not in centres:
        raise ValidationFailed(_("There is no such cost centre."), code="unknown_cost_centre")
    cap = values.get("cap_gb", "")
    if cap and (not cap.isdigit() or int(cap) > 100_000):
        raise ValidationFailed(_("The cap must be a whole number of gigabytes."),
                               code="invalid_cap")
    language = values.get("language", "").lower() or "en"
    if language not in LANGUAGES:
        raise ValidationFailed(_("The language must be en or zh-hans."),
                               code="invalid_language")
    return Row(number, email, phone, values.get("name", "")[:150],
               values.get("employee_ref", "")[:60], centres.get(code) if code else None,
               int(cap) * GB if cap else None, language)


def _existing_user(User: Any, row: Row) -> Any:
    if row.email:
        found = User.objects.filter(email__iexact=row.email).first()
        if found is not None:
            return found
    return User.objects.filter(phone=row.phone).first() if row.phone else None


def import_members(*, by: Any, group: Group, data: bytes) -> ImportReport:
    """Check the file, then assign every valid row at once (see the module docstring)."""
    groups.manager_of(user=by, group_id=group.pk)
    if group.kind != Group.Kind.ENTERPRISE:
        raise ValidationFailed(code="enterprise_only")
    valid, rejected = parse(group=group, data=data)
    report = ImportReport(rejected=rejected)
    if not valid:
        return report
    User = get_user_model()
    with transaction.atomic():
        locked = Group.objects.select_for_update().get(pk=group.pk)
        free = groups.seat_limit(locked) - groups.seats_in_use(locked)
        if len(valid) > free:
            raise Conflict(_("The file has more people than free seats: add seats first."),
                           code="group_full", detail={"free": max(0, free),
                                                      "rows": len(valid)})
        for row in valid:
            user = _existing_user(User, row)
            if user is None:
                user = User.objects.create_user(row.email or None, None, phone=row.phone or None,
                                                name=row.name, language=row.language)
            member = Membership.objects.create(
                group=locked, user=user, cost_centre=row.cost_centre,
                employee_ref=row.employee_ref, data_cap_bytes=row.cap_bytes,
                data_cap_percent=locked.default_cap_percent)
            member_esim_task.enqueue(member.pk)
            notifications.notify(user=user, kind="group_added", template="group_added",
                                 context={"group": locked, "by": by,
                                          "group_url": group_url(locked.pk)},
                                 dedupe_key=f"group_added:{member.pk}", transactional=True)
        report.assigned = len(valid)
        audit.record_by_user(user=by, action="group.import", obj=locked,
                             after={"assigned": report.assigned,
                                    "rejected": [r["line"] for r in rejected]})
    return report
