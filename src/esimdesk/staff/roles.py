"""Staff roles: ``agent``, ``finance`` and ``admin``, kept as Django auth groups with an
explicit set of permissions each (docs/staff-console.md has the matrix).

``sync_roles`` creates or corrects the three groups; it runs after every ``migrate`` and as
``esimdesk manage sync_roles``. It sets each role's permissions to exactly the list below,
so a permission added to a role by hand in the admin is taken away again on the next sync:
give extra rights to a person, not to a role. ``admin`` has every permission there is.

Limits that depend on the role (goodwill days, refund amounts) are read through the two
``..._beyond_limit`` permissions, never by group name, so a superuser or a person given the
permission directly is treated alike.
"""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from esimdesk import config
from esimdesk.core import audit

logger = logging.getLogger(__name__)

AGENT = "agent"
FINANCE = "finance"
ADMIN = "admin"

#: Rights of an agent: see customers, eSIMs, orders, payments and conversations; act on eSIMs
#: and accounts (each action also needs its reason, and is audited).
AGENT_PERMISSIONS = (
    "staff.view_customer_console",
    "staff.resend_install_email",
    "staff.extend_validity",
    "staff.suspend_esim",
    "staff.unlock_account",
    "accounts.view_user",
    "esims.view_esim",
    "esims.view_reissue",
    "esims.reissue_esim",
    "subscriptions.view_subscription",
    "subscriptions.view_period",
    "subscriptions.view_allowance",
    "usage.view_usageevent",
    "orders.view_order",
    "orders.view_orderline",
    "orders.view_receipt",
    "orders.change_order",  # retry an activation
    "payments.view_payment",
    "payments.view_refund",
    "notifications.view_notification",
    "notifications.view_outboxmessage",
    "support.view_conversation",
    "support.reply_conversation",
    "support.view_message",
    "support.view_cannedreply",
    "core.view_auditentry",
    "console.view_alert",
)

#: Rights of finance: the Money page, refunds (up to ESIMDESK_REFUND_LIMIT_FINANCE),
#: everything about payments, organisations' monthly invoices and the margins; customers and
#: orders read-only, to see what a refund is for.
FINANCE_PERMISSIONS = (
    "staff.view_customer_console",
    "accounts.view_user",
    "esims.view_esim",
    "orders.view_order",
    "orders.view_orderline",
    "orders.view_receipt",
    "payments.view_payment",
    "payments.view_paymentevent",
    "payments.view_refund",
    "payments.add_refund",
    "payments.view_renewalattempt",
    "sharedplans.view_monthlyinvoice",
    "sharedplans.change_monthlyinvoice",  # record that an organisation's invoice was paid
    "catalog.view_plan",
    "catalog.view_supplierbundle",
    "catalog.view_exchangerate",
    "core.view_auditentry",
    "console.view_money",  # the Money page, where finance lands (the figures are admins')
    "console.view_alert",
)

ROLES: dict[str, tuple[str, ...] | None] = {
    AGENT: AGENT_PERMISSIONS,
    FINANCE: FINANCE_PERMISSIONS,
    ADMIN: None,  # every permission
}


def _permissions(names: tuple[str, ...] | None, using: str) -> tuple[list[Permission], list[str]]:
    everything = Permission.objects.using(using).select_related("content_type")
    if names is None:
        return list(everything), []
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in everything}
    return [by_name[n] for n in names if n in by_name], [n for n in names if n not in by_name]


def sync_roles(*, using: str = "default") -> dict[str, int]:
    """Create the three role groups and set their permissions; answers how many each has.

    Idempotent. Creates every app's permissions first, so it may run before Django's own
    post-migrate handler has made those of the apps after ``staff``."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    counts: dict[str, int] = {}
    with transaction.atomic(using=using):
        for name, names in ROLES.items():
            group, _created = Group.objects.using(using).get_or_create(name=name)
            wanted, missing = _permissions(names, using)
            if missing:  # an app not installed, or a permission renamed: say so, go on
                logger.warning("role %s: no such permission %s", name, ", ".join(missing))
            group.permissions.set(wanted)
            counts[name] = len(wanted)
    return counts


def missing_permissions() -> dict[str, list[str]]:
    """Permissions a role lists that do not exist (a typo or a renamed model)."""
    return {name: missing for name, names in ROLES.items()
            if (missing := _permissions(names, "default")[1])}


def roles_of(user: Any) -> list[str]:
    """The role names a staff member holds (superusers hold ``admin``)."""
    if getattr(user, "is_superuser", False):
        return [ADMIN]
    held = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    return [name for name in ROLES if name in held]


def grant(*, user: Any, role: str) -> None:
    """Make ``user`` a staff member holding ``role`` (``esimdesk manage sync_roles --grant``)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")

    with transaction.atomic():
        sync_roles()
        before = {"is_staff": user.is_staff, "roles": roles_of(user)}
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(Group.objects.get(name=role))
        audit.record(action="staff.role_granted", obj=user, actor_type="system",
                     actor="cli", before=before, after={"is_staff": True, "role": role})


def goodwill_limit_days(user: Any) -> int:
    """Most days ``user`` may extend a plan by in one goodwill extension (0: not at all)."""
    if not user.has_perm("staff.extend_validity"):
        return 0
    if user.has_perm("staff.extend_validity_beyond_limit"):
        return int(config.env("ESIMDESK_GOODWILL_DAYS_ADMIN"))
    return int(config.env("ESIMDESK_GOODWILL_DAYS_AGENT"))


def permissions_for(user: Any) -> dict[str, bool | int]:
    """What the console shows ``user``: one flag per action (a button is shown only when
    its flag is set; the action checks the same permission again), and ``extend_days``,
    the longest goodwill extension ``user`` may give."""
    return {
        "extend_days": goodwill_limit_days(user),
        "resend_email": user.has_perm("staff.resend_install_email"),
        "retry": user.has_perm("orders.change_order"),
        "reissue": user.has_perm("esims.reissue_esim"),
        "extend": user.has_perm("staff.extend_validity"),
        "suspend": user.has_perm("staff.suspend_esim"),
        "unlock": user.has_perm("staff.unlock_account"),
        "refund": user.has_perm("payments.add_refund"),
        "audit": user.has_perm("core.view_auditentry"),
    }
