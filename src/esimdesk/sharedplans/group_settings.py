"""A family's or organisation's settings, changed together: automatic renewal of its pool,
its policies and its billing details. One call, one transaction: a refusal of any part
leaves every part as it was."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from esimdesk.core.errors import ValidationFailed
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group
from esimdesk.sharedplans.pools import pool_subscription
from esimdesk.subscriptions import services as subscriptions


def update_group_settings(*, by: Any, group: Group, auto_renew: bool | None = None,
                          allowed_countries: Sequence[str] | None = None,
                          default_cap_percent: int | None = None,
                          company_name: str | None = None, tax_id: str | None = None,
                          billing: str | None = None) -> Group:
    """Change what is given (None: unchanged), each through its own service and its checks
    (managers only; switching to invoices is for staff). 422 ``group_has_no_plan`` when
    ``auto_renew`` is given for a group without a plan."""
    with transaction.atomic():
        if auto_renew is not None:
            subscription = pool_subscription(group.pk)
            if subscription is None:
                raise ValidationFailed(code="group_has_no_plan")
            subscriptions.set_auto_renew(user=by, subscription=subscription,
                                         enabled=auto_renew)
        if allowed_countries is not None or default_cap_percent is not None:
            group = groups.set_policy(by=by, group=group,
                                      allowed_countries=(allowed_countries
                                                         if allowed_countries is not None
                                                         else group.allowed_countries),
                                      default_cap_percent=default_cap_percent)
        if billing is not None or company_name is not None or tax_id is not None:
            group = groups.update_billing(
                by=by, group=group,
                company_name=company_name if company_name is not None else group.company_name,
                tax_id=tax_id if tax_id is not None else group.tax_id,
                billing=billing or group.billing)
    return group
