"""Each kind of message by its name for staff ("Order confirmation" for
``order_confirmation``), in the reader's language: the console lists messages by kind (the
customer page, the notifications list and its filter). A kind with no name yet is shown as
its code."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

KIND_NAMES: dict[str, Promise] = {
    "order_confirmation": pgettext_lazy("message kind", "Order confirmation"),
    "refund_confirmation": pgettext_lazy("message kind", "Refund confirmation"),
    "activation_delayed": pgettext_lazy("message kind", "Activation delayed"),
    "esim_reissued": pgettext_lazy("message kind", "eSIM reissued"),
    "reminder_expiry": pgettext_lazy("message kind", "Expiry reminder"),
    "reminder_low_data": pgettext_lazy("message kind", "Low data reminder"),
    "reminder_activate_by": pgettext_lazy("message kind", "Activate-by reminder"),
    "reminder_member_cap": pgettext_lazy("message kind", "Member near data limit"),
    "renewal_failed": pgettext_lazy("message kind", "Renewal failed"),
    "renewal_declined": pgettext_lazy("message kind", "Renewal payment declined"),
    "renewal_pay_link": pgettext_lazy("message kind", "Renewal payment link"),
    "group_invitation": pgettext_lazy("message kind", "Group invitation"),
    "group_added": pgettext_lazy("message kind", "Added to a group"),
    "group_invoice": pgettext_lazy("message kind", "Group invoice"),
    "support_ticket": pgettext_lazy("message kind", "Support ticket"),
    "support_reply": pgettext_lazy("message kind", "Support reply"),
    "account_code": pgettext_lazy("message kind", "Sign-in code"),
    "account_already_exists": pgettext_lazy("message kind", "Account already exists"),
    "password_reset_code": pgettext_lazy("message kind", "Password reset code"),
    "ops_alert": pgettext_lazy("message kind", "Operations alert"),
    "ops_activation_failed": pgettext_lazy("message kind", "Activation failed (operations)"),
    "ops_supplier_action_failed": pgettext_lazy(
        "message kind", "Supplier action failed (operations)"),
}


def kind_name(kind: str) -> str:
    name = KIND_NAMES.get(kind)
    return str(name) if name is not None else kind
