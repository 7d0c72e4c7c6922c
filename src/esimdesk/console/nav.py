"""The console's navigation, by task rather than by model, for the person signed in.

Each item names the permission it needs (the page it opens checks the same one), so an
agent sees the support queue and customers, finance the money, an admin everything; the raw
model admin is the last item, "Data", for admins only. ``landing`` is where a person lands
when they open the console: an agent on the support queue, finance on the Money page,
anyone who may see the business figures (admins) on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from esimdesk.staff.roles import ADMIN, AGENT, roles_of

FIGURES = "console.view_figures"
MONEY = "console.view_money"
#: The raw model admin ("Data": records, not mobile data).
DATA = pgettext_lazy("console section", "Data")


@dataclass(frozen=True)
class Item:
    key: str
    label: str | Promise
    url_name: str
    #: Any one of these permissions shows the item ("" : every staff member).
    perms: tuple[str, ...]
    #: Paths under which the item is the current one (besides its own URL).
    prefixes: tuple[str, ...] = ()
    kwargs: tuple[tuple[str, str], ...] = ()


ITEMS: tuple[Item, ...] = (
    Item("home", _("Home"), "admin:index", (FIGURES,)),
    Item("money", _("Money"), "console_money", (MONEY,), ("/staff/money/",)),
    Item("customers", _("Customers"), "staff_customers", ("staff.view_customer_console",),
         ("/staff/customers/", "/staff/accounts/user/")),
    Item("orders", _("Orders"), "admin:orders_order_changelist", ("orders.view_order",),
         ("/staff/orders/", "/staff/payments/payment/")),
    Item("activations", _("Activations"), "staff_activations", ("orders.view_order",),
         ("/staff/activations/",)),
    Item("support", _("Support"), "support_inbox:inbox", ("support.view_conversation",),
         ("/staff/support/",)),
    Item("renewals", _("Renewals"), "admin:payments_renewalattempt_changelist",
         ("payments.view_renewalattempt",), ("/staff/payments/renewalattempt/",)),
    Item("refunds", _("Refunds"), "admin:payments_refund_changelist",
         ("payments.view_refund",), ("/staff/payments/refund/",)),
    Item("catalog", _("Catalog & prices"), "admin:app_list", ("catalog.change_plan",),
         ("/staff/catalog/",), (("app_label", "catalog"),)),
    Item("suppliers", _("Suppliers"), "console_suppliers",
         ("provisioning.view_suppliercall",), ("/staff/suppliers/", "/staff/provisioning/")),
    Item("margins", _("Margins"), "staff_margins", ("catalog.view_plan",),
         ("/staff/margins/",)),
    Item("invoices", _("Invoices"), "staff_invoices", ("sharedplans.view_monthlyinvoice",),
         ("/staff/invoices/",)),
    Item("messages", _("Messages"), "staff_outbox", ("notifications.view_outboxmessage",),
         ("/staff/outbox/",)),
    Item("usage", _("Usage records"), "staff_usage", ("usage.view_usageevent",),
         ("/staff/usage/",)),
    Item("alerts", _("Alerts"), "console_alerts", ("console.view_alert",),
         ("/staff/alerts/",)),
    Item("settings", _("Settings"), "admin:core_consolesetting_changelist",
         ("core.change_consolesetting",), ("/staff/core/consolesetting/",)),
    Item("audit", _("Audit"), "admin:core_auditentry_changelist", ("core.view_auditentry",),
         ("/staff/core/auditentry/",)),
)


def is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or ADMIN in roles_of(user)


def items_for(user: Any, path: str = "") -> list[dict[str, Any]]:
    """The items ``user`` may open, each with its ``url`` and whether it is ``current``."""
    shown: list[dict[str, Any]] = []
    for item in ITEMS:
        if item.perms and not any(user.has_perm(perm) for perm in item.perms):
            continue
        try:
            url = reverse(item.url_name, kwargs=dict(item.kwargs))
        except NoReverseMatch:
            continue
        current = path == url if item.key == "home" else (
            path.startswith(url) or path.startswith(item.prefixes))
        shown.append({"key": item.key, "label": item.label, "url": url, "current": current})
    if is_admin(user):
        url = reverse("console_data")
        shown.append({"key": "data", "label": DATA, "url": url,
                      "current": path.startswith(url)})
    return shown


def landing(user: Any) -> str | None:
    """Where ``user`` goes on opening ``/staff/``: None to stay on the figures."""
    if user.has_perm(FIGURES):
        return None
    if user.has_perm(MONEY):
        return reverse("console_money")
    if AGENT in roles_of(user) and user.has_perm("support.view_conversation"):
        return reverse("support_inbox:inbox")
    return None
