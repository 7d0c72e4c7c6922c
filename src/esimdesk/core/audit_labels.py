"""The names people read for the audit trail's codes: each action (``order.paid`` →
"Order paid") and each system actor (``fulfilment`` → "Order fulfilment"), translated.

One table each, so a new code is named in one place; ``tests/core/test_audit_labels.py``
scans ``src/`` for every ``action=`` an audit row is recorded with and fails on a code
missing here. The context "audit action" keeps these names apart from the same English
words used elsewhere (a button "Resend install e-mail" is not the event it records).
"""

from __future__ import annotations

import re

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

ACTIONS: dict[str, Promise] = {
    # Accounts and staff
    "account.created_at_guest_checkout": pgettext_lazy(
        "audit action", "Account created at guest checkout"),
    "account.first_password": pgettext_lazy("audit action", "First password set"),
    "account.password_reset_sms": pgettext_lazy("audit action", "Password reset by text message"),
    "account.preferences": pgettext_lazy("audit action", "Account preferences changed"),
    "account.unlock": pgettext_lazy("audit action", "Account unlocked"),
    "apikey.create": pgettext_lazy("audit action", "API key created"),
    "staff.role_granted": pgettext_lazy("audit action", "Staff role granted"),
    "console_setting.set": pgettext_lazy("audit action", "Console setting saved"),
    "console_setting.delete": pgettext_lazy("audit action", "Console setting deleted"),
    "supplier.connection_checked": pgettext_lazy("audit action", "Supplier connection tested"),
    "admin.add": pgettext_lazy("audit action", "Record added in the console"),
    "admin.change": pgettext_lazy("audit action", "Record changed in the console"),
    "admin.delete": pgettext_lazy("audit action", "Record deleted in the console"),
    # Catalog
    "catalog.exchange_rate.set": pgettext_lazy("audit action", "Exchange rate set"),
    # Orders
    "order.create": pgettext_lazy("audit action", "Order placed"),
    "order.paid": pgettext_lazy("audit action", "Order paid"),
    "order.on_account": pgettext_lazy("audit action", "Order paid on account"),
    "order.settled_without_payment": pgettext_lazy("audit action", "Order settled without payment"),
    "order.withdrawn": pgettext_lazy("audit action", "Order withdrawn"),
    "order.fulfilled": pgettext_lazy("audit action", "Order fulfilled"),
    "order.fulfilment_failed": pgettext_lazy("audit action", "Order fulfilment failed"),
    "order.retry_fulfilment": pgettext_lazy("audit action", "Order fulfilment retried"),
    "order.install_email_resent": pgettext_lazy("audit action", "Install e-mail resent"),
    "order.line_paid_back": pgettext_lazy("audit action", "Order line paid back"),
    "activation.failover": pgettext_lazy("audit action", "Activation moved to another supplier"),
    "supplier.action_failed": pgettext_lazy("audit action", "Supplier action given up"),
    # Payments, refunds and renewals
    "payment.start": pgettext_lazy("audit action", "Payment started"),
    "payment.status": pgettext_lazy("audit action", "Payment status changed"),
    "payment.amount_mismatch": pgettext_lazy("audit action", "Payment amount did not match"),
    "saved_method.default": pgettext_lazy("audit action", "Default payment method chosen"),
    "saved_method.remove": pgettext_lazy("audit action", "Saved payment method removed"),
    "refund.request": pgettext_lazy("audit action", "Refund requested"),
    "refund.succeeded": pgettext_lazy("audit action", "Refund succeeded"),
    "refund.failed": pgettext_lazy("audit action", "Refund failed"),
    "refund.unfunded": pgettext_lazy("audit action", "Refund could not be paid in full"),
    "renewal.state": pgettext_lazy("audit action", "Automatic renewal status changed"),
    # eSIMs
    "esim.create": pgettext_lazy("audit action", "eSIM created"),
    "esim.label": pgettext_lazy("audit action", "eSIM renamed"),
    "esim.status": pgettext_lazy("audit action", "eSIM status changed"),
    "esim.reissue_requested": pgettext_lazy("audit action", "eSIM reissue requested"),
    "esim.reissued": pgettext_lazy("audit action", "eSIM reissued"),
    "esim.reissue_failed": pgettext_lazy("audit action", "eSIM reissue failed"),
    "esim.revoked_upstream": pgettext_lazy("audit action", "eSIM revoked at the supplier"),
    "esim.upstream_revoke_requested": pgettext_lazy("audit action",
                                                    "Cancellation at the supplier requested"),
    "esim.upstream_revoke_refused": pgettext_lazy("audit action",
                                                  "Supplier refused to cancel the profile"),
    "esim.upstream_revoke_failed": pgettext_lazy("audit action",
                                                 "Cancellation at the supplier failed"),
    "esim.upstream_revoke_retried": pgettext_lazy("audit action",
                                                  "Cancellation at the supplier retried"),
    "esim.upstream_revoke_handled": pgettext_lazy("audit action",
                                                  "Cancellation at the supplier settled by staff"),
    "es2.download_reconciled": pgettext_lazy("audit action",
                                             "Possibly allocated ES2+ profile reconciled"),
    "esimgo.order_outcome_unknown": pgettext_lazy("audit action",
                                                  "eSIM Go order possibly allocated"),
    "esimgo.order_reconciled": pgettext_lazy("audit action",
                                             "Possibly allocated eSIM Go order reconciled"),
    "esimgo.order_recovered": pgettext_lazy("audit action",
                                            "eSIM Go order found after a lost answer"),
    "esim.revoke_failed": pgettext_lazy("audit action", "Revoking the eSIM at the supplier failed"),
    "esim.suspend_upstream": pgettext_lazy("audit action", "eSIM suspended at the supplier"),
    "esim.suspend_upstream_failed": pgettext_lazy(
        "audit action", "Suspending the eSIM at the supplier failed"),
    "esim.resume_upstream": pgettext_lazy("audit action", "eSIM resumed at the supplier"),
    "esim.resume_upstream_failed": pgettext_lazy(
        "audit action", "Resuming the eSIM at the supplier failed"),
    "esim.goodwill_upstream": pgettext_lazy(
        "audit action", "Goodwill extension sent to the supplier"),
    "esim.goodwill_upstream_failed": pgettext_lazy(
        "audit action", "Sending the goodwill extension to the supplier failed"),
    "esim.plan_ended_upstream": pgettext_lazy("audit action", "Plan ended at the supplier"),
    "esim.renewed_on_data_out_upstream": pgettext_lazy(
        "audit action", "Renewed at the supplier when data ran out"),
    "esim.upstream_deleted": pgettext_lazy("audit action", "eSIM deleted by the supplier"),
    "esim.data_depleted_upstream": pgettext_lazy(
        "audit action", "Data stopped at the supplier (shared data used up)"),
    "esim.data_restored_upstream": pgettext_lazy("audit action", "Data restored at the supplier"),
    "esim.lift_failed": pgettext_lazy("audit action", "Restoring data at the supplier failed"),
    "esim.pool_plan_applied": pgettext_lazy("audit action", "Shared plan applied to the eSIM"),
    "esim.pool_plan_ended": pgettext_lazy("audit action", "Shared plan ended on the eSIM"),
    "esim.pool_top_up_applied": pgettext_lazy("audit action", "Shared top-up applied to the eSIM"),
    "esimgo.iccid_normalised": pgettext_lazy("audit action", "ICCID written in the standard form"),
    # Subscriptions and periods
    "subscription.create": pgettext_lazy("audit action", "Subscription created"),
    "subscription.auto_renew": pgettext_lazy("audit action", "Automatic renewal switched"),
    "period.create": pgettext_lazy("audit action", "Plan period created"),
    "period.started": pgettext_lazy("audit action", "Plan period started"),
    "period.state": pgettext_lazy("audit action", "Plan period status changed"),
    "period.extended": pgettext_lazy("audit action", "Plan period extended"),
    "period.goodwill_extension": pgettext_lazy(
        "audit action", "Plan period extended as a goodwill gesture"),
    "period.moved": pgettext_lazy("audit action", "Plan period moved"),
    "period.top_up": pgettext_lazy("audit action", "Data added to the plan period"),
    "period.ended_early": pgettext_lazy("audit action", "Plan period ended early"),
    "allowance.taken_back": pgettext_lazy("audit action", "Unused data taken back"),
    # Groups and shared plans
    "group.create": pgettext_lazy("audit action", "Group created"),
    "group.billing": pgettext_lazy("audit action", "Group billing details changed"),
    "group.policy": pgettext_lazy("audit action", "Group rules changed"),
    "group.cap": pgettext_lazy("audit action", "Member's data limit changed"),
    "group.cost_centre": pgettext_lazy("audit action", "Cost centre changed"),
    "group.member_cost_centre": pgettext_lazy("audit action", "Member's cost centre changed"),
    "group.invite": pgettext_lazy("audit action", "Member invited"),
    "group.invitation_revoked": pgettext_lazy("audit action", "Invitation withdrawn"),
    "group.import": pgettext_lazy("audit action", "Members imported"),
    "group.join": pgettext_lazy("audit action", "Member joined"),
    "group.leave": pgettext_lazy("audit action", "Member left"),
    "group.remove": pgettext_lazy("audit action", "Member removed"),
    "group.role": pgettext_lazy("audit action", "Member's role changed"),
    "group.member_esim": pgettext_lazy("audit action", "eSIM issued to a member"),
    "group.member_capped": pgettext_lazy("audit action", "Member reached their data limit"),
    "group.member_uncapped": pgettext_lazy("audit action", "Member's data limit lifted"),
    "group.seats": pgettext_lazy("audit action", "Group seats changed"),
    "group.top_up": pgettext_lazy("audit action", "Shared data topped up"),
    "invoice.issued": pgettext_lazy("audit action", "Invoice issued"),
    "invoice.paid": pgettext_lazy("audit action", "Invoice paid"),
    # Messages and support
    "notifications.preferences": pgettext_lazy("audit action", "Message preferences changed"),
    "notifications.resend": pgettext_lazy("audit action", "Message sent again"),
    "support.conversation_started": pgettext_lazy("audit action", "Conversation started"),
    "support.replied": pgettext_lazy("audit action", "Reply sent"),
    "support.assigned": pgettext_lazy("audit action", "Conversation assigned"),
    "support.transferred": pgettext_lazy("audit action", "Conversation transferred"),
    "support.status": pgettext_lazy("audit action", "Conversation status changed"),
    "support.reopened": pgettext_lazy("audit action", "Conversation reopened"),
    "support.became_ticket": pgettext_lazy("audit action", "Conversation became a ticket"),
    "support.rated": pgettext_lazy("audit action", "Conversation rated"),
    # Usage
    "usage.drift": pgettext_lazy("audit action", "Usage differs from the supplier's"),
    "usage.drift_resolved": pgettext_lazy("audit action", "Usage agrees with the supplier's again"),
    # The sandbox (test mode)
    "simulator.profile_event": pgettext_lazy("audit action", "Simulated profile event"),
    "simulator.usage": pgettext_lazy("audit action", "Simulated usage"),
    "simulator.callback_resend": pgettext_lazy("audit action", "Simulated callback sent again"),
}

#: System actors (who acted when no person did), by the id audit rows store.
ACTORS: dict[str, Promise] = {
    "fulfilment": _("Order fulfilment"),
    "scheduler": _("Scheduler"),
    "reissue": _("eSIM reissue"),
    "auto-renew": _("Automatic renewal"),
    "expiry": _("Plan expiry"),
    "groups": _("Groups"),
    "invoices": _("Invoicing"),
    "reconciliation": _("Reconciliation"),
    "usage_reconciliation": _("Usage reconciliation"),
    "usage": _("Usage records"),
    "refund": _("Refunds"),
    "support": _("Support"),
    "cli": _("Command line"),
    "demo": _("Demo data"),
    "esimdesk": pgettext_lazy("audit actor", "The shop"),
    "simulator": _("Upstream simulator"),
    "simulator-api": _("Upstream simulator (API)"),
    "sandbox": _("Sandbox payments"),
    "task": pgettext_lazy("audit actor", "Background task"),
    "system": pgettext_lazy("audit actor", "System"),
}

#: Actor types rows may carry beyond AuditEntry.ActorType ("user": a customer by id).
ACTOR_TYPES: dict[str, Promise] = {"user": _("Customer")}

#: Reasons esimdesk itself writes (``reason="..."`` in the source), by the text rows store:
#: shown in the reader's language, rows written before keep reading right, and a reason a
#: person typed (not listed here) is shown as typed. ``tests/core/test_audit_labels.py``
#: fails on a literal reason in the source missing here.
REASONS: dict[str, Promise] = {
    "demo data": pgettext_lazy("audit reason", "demo data"),
    "demo data: first use": pgettext_lazy("audit reason", "demo data: first use"),
    "Bought for the wrong trip": pgettext_lazy("audit reason", "Bought for the wrong trip"),
    "staff console": pgettext_lazy("audit reason", "staff console"),
    "staff console (admin action)": pgettext_lazy("audit reason", "staff console (admin action)"),
    "refunded before installation": pgettext_lazy("audit reason", "refunded before installation"),
    "the plan was already changed by an earlier order":
        pgettext_lazy("audit reason", "the plan was already changed by an earlier order"),
    "the credit covers the whole price":
        pgettext_lazy("audit reason", "the credit covers the whole price"),
    "superseded by a new payment attempt":
        pgettext_lazy("audit reason", "superseded by a new payment attempt"),
    "the provider reported another amount or currency":
        pgettext_lazy("audit reason", "the provider reported another amount or currency"),
    "the order was already paid": pgettext_lazy("audit reason", "the order was already paid"),
    "paid twice": pgettext_lazy("audit reason", "paid twice"),
    "another attempt paid the order":
        pgettext_lazy("audit reason", "another attempt paid the order"),
    "not paid within a day": pgettext_lazy("audit reason", "not paid within a day"),
    "reported through the simulator API":
        pgettext_lazy("audit reason", "reported through the simulator API"),
    "automatic progress": pgettext_lazy("audit reason", "automatic progress"),
    "started by the group's manager":
        pgettext_lazy("audit reason", "started by the group's manager"),
    "member cap reached": pgettext_lazy("audit reason", "member cap reached"),
    "shared pool used up": pgettext_lazy("audit reason", "shared pool used up"),
    "member cap raised": pgettext_lazy("audit reason", "member cap raised"),
    "a plan change started before it":
        pgettext_lazy("audit reason", "a plan change started before it"),
    "the period before it was extended by a top-up":
        pgettext_lazy("audit reason", "the period before it was extended by a top-up"),
    "bought after the data ran out": pgettext_lazy("audit reason", "bought after the data ran out"),
    "data used up, low-data renewal started":
        pgettext_lazy("audit reason", "data used up, low-data renewal started"),
    "data used up": pgettext_lazy("audit reason", "data used up"),
    "a renewal started when the data ran out":
        pgettext_lazy("audit reason", "a renewal started when the data ran out"),
    "plan ended, no renewal": pgettext_lazy("audit reason", "plan ended, no renewal"),
    "the period before it was extended as goodwill":
        pgettext_lazy("audit reason", "the period before it was extended as goodwill"),
    "the period before it was refunded before it started":
        pgettext_lazy("audit reason", "the period before it was refunded before it started"),
    "an earlier period was refunded":
        pgettext_lazy("audit reason", "an earlier period was refunded"),
    "started by the traveller": pgettext_lazy("audit reason", "started by the traveller"),
    "the period before it started": pgettext_lazy("audit reason", "the period before it started"),
    "activation deadline reached": pgettext_lazy("audit reason", "activation deadline reached"),
    "first usage record": pgettext_lazy("audit reason", "first usage record"),
    "data allowance used up": pgettext_lazy("audit reason", "data allowance used up"),
    # A supplier action's outcome (provisioning.retrying: failed or refused).
    "supplier failed": pgettext_lazy("audit reason", "supplier failed"),
    "supplier refused": pgettext_lazy("audit reason", "supplier refused"),
    "upstream failed": pgettext_lazy("audit reason", "upstream failed"),
    "upstream refused": pgettext_lazy("audit reason", "upstream refused"),
    # An order line paid back instead of applied (orders.topups, sharedplans).
    "no plan running that this top-up fits":
        pgettext_lazy("audit reason", "no plan running that this top-up fits"),
    "the plan ended before the top-up could be applied":
        pgettext_lazy("audit reason", "the plan ended before the top-up could be applied"),
    "the group's plan ended before the top-up could be applied":
        pgettext_lazy("audit reason",
                      "the group's plan ended before the top-up could be applied"),
    "the group's plan ended before the seats could be added":
        pgettext_lazy("audit reason", "the group's plan ended before the seats could be added"),
}

#: Reasons esimdesk writes with details filled in (``f"order {number}"``): the stored text's
#: pattern, and its name with the details as placeholders. Each detail is read as a reason
#: in turn (``"...: no payment left ..."`` after a reason of ``REASONS``).
REASON_PATTERNS: tuple[tuple[re.Pattern[str], Promise], ...] = (
    (re.compile(r"the data of period (?P<sequence>\d+) ran out"),
     pgettext_lazy("audit reason", "the data of period %(sequence)s ran out")),
    (re.compile(r"plan change, order (?P<number>ED-[0-9A-Z]+)"),
     pgettext_lazy("audit reason", "plan change, order %(number)s")),
    (re.compile(r"order (?P<number>ED-[0-9A-Z]+)"),
     pgettext_lazy("audit reason", "order %(number)s")),
    (re.compile(r"refund (?P<refund>ref_[\w-]+)"),
     pgettext_lazy("audit reason", "refund %(refund)s")),
    (re.compile(r"the payment could not be started: (?P<code>[a-z0-9_]+)"),
     pgettext_lazy("audit reason", "the payment could not be started: %(code)s")),
    (re.compile(r"(?P<reason>.+): no payment left to pay this back; staff must settle it"),
     pgettext_lazy("audit reason",
                   "%(reason)s: no payment left to pay this back; staff must settle it")),
)
