"""Domain errors: every refusal has a stable machine-readable ``code``, a translated
``message`` and the HTTP status the API answers with. Services raise them; the API, the
portal and the CLI turn them into a response, a form error or one clear line."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

# The message shown for a code when the code's raiser gives none. Translated lazily, so the
# API answers in the language of the request.
MESSAGES: dict[str, Any] = {
    "unsupported_currency": _("That currency is not supported."),
    "currency_not_available": _("This plan cannot be bought in that currency."),
    "currency_not_supported_by_provider": _("That payment method does not accept this currency."),
    "unknown_plan": _("There is no such plan."),
    "unknown_country": _("We have no plans for that country yet."),
    "unknown_region": _("There is no such region."),
    "unknown_esim": _("There is no such eSIM in your account."),
    "unknown_order": _("There is no such order in your account."),
    "unknown_payment": _("There is no such payment."),
    "unknown_provider": _("That payment method is not available."),
    "unknown_product": _("There is no such top-up product."),
    "invalid_iccid": _("That is not a valid ICCID."),
    "invalid_eid": _("That is not a valid EID."),
    "invalid_phone": _("That is not a phone number we can use: check the country and the "
                       "number, or type it in full with + and the country code."),
    "invalid_period": _("The period must be day, month or year."),
    "invalid_kind": _("The kind must be personal, family or enterprise."),
    "invalid_line_type": _("A line's type must be new_esim, renewal or top_up."),
    "invalid_outcome": _("The outcome must be approve or decline."),
    "invalid_idempotency_key": _("The Idempotency-Key header is too long."),
    "idempotency_key_reused": _("This Idempotency-Key was already used for a different request."),
    "plan_required": _("Choose a plan."),
    "plan_kind_unavailable": _("This plan cannot be bought here yet."),
    "iccid_required": _("Say which eSIM to renew."),
    "no_lines": _("The order has no lines."),
    "too_many_lines": _("The order has too many lines."),
    "label_too_long": _("The label is too long."),
    "order_not_payable": _("This order does not need paying."),
    "esim_not_renewable": _("This eSIM can no longer be renewed."),
    "not_pending": _("This eSIM has no plan waiting to start: it has started already, or "
                     "there is none."),
    "malformed_json": _("The request body is not valid JSON."),
    "provider_unavailable": _("The payment service is not answering. Please try again."),
    "provider_refused": _("The payment service refused this payment."),
    "invalid_request": _("Some fields are missing or not valid."),
    "unauthenticated": _("Sign in first."),
    # Integration API keys.
    "name_required": _("Give the key a name."),
    "api_key_exists": _("A key with that name exists already."),
    "scopes_required": _("Choose at least one scope for the key."),
    "unknown_scope": _("There is no such scope."),
    "bad_signature": _("The signature of the message does not verify."),
    "stale_signature": _("The signature of the message is too old."),
    "too_many_codes": _("Too many codes requested. Try again in an hour."),
    "too_many_attempts": _("Too many attempts. Please try again later."),
    "invalid_code": _("That code is not valid or has expired."),
    # Families and organisations (groups).
    "unknown_group": _("There is no such group in your account."),
    "group_manager_only": _("Only the group's owner or an administrator can do that."),
    "group_owner_only": _("Only the group's owner can do that."),
    "invalid_group_kind": _("The kind must be family or enterprise."),
    "invalid_group_name": _("Give the group a name of at most 150 characters."),
    "invalid_billing": _("Billing must be payment or invoice."),
    "invoice_needs_company": _("Invoices are for organisations with a company name."),
    "invoice_needs_approval": _("Ask us to switch your organisation to monthly invoices."),
    "group_has_no_plan": _("Buy a family or organisation plan for the group first."),
    "group_has_plan": _("The group already has a plan: renew it instead."),
    "group_full": _("Every seat of the group is taken. Add seats first."),
    "group_required": _("Say which group the plan is for."),
    "invitation_address_required": _("Give an e-mail address or a phone number."),
    "invitation_closed": _("This invitation has expired, was withdrawn or was already used."),
    "unknown_invitation": _("There is no such invitation."),
    "invalid_role": _("The role must be admin or member."),
    "unknown_cost_centre": _("There is no such cost centre."),
    "invalid_cost_centre": _("A cost centre needs a code of at most 40 characters."),
    "invalid_cap": _("A cap must be a number of bytes, or a share of the pool from 0 to 100 %."),
    "already_member": _("This person is already in the group."),
    "esim_in_pool": _("This eSIM already shares another group's plan."),
    "member_has_esim": _("You already share the plan with an eSIM."),
    "owner_cannot_leave": _("The owner cannot leave the group."),
    "unknown_member": _("There is no such member in the group."),
    "not_a_group_plan": _("This is not a family or organisation plan."),
    "plan_kind_mismatch": _("This plan is not for this kind of group."),
    "invalid_member_count": _("The number of members is outside what the plan allows."),
    "plan_outside_policy": _("This plan does not cover every country the policy allows."),
    "enterprise_only": _("Only organisations can do that."),
    "invalid_csv": _("The file must be CSV in UTF-8 with a header line."),
    "file_too_large": _("The file is too large."),
    "too_many_rows": _("The file has too many lines."),
    "duplicate_row": _("This person is already on an earlier line."),
    "invalid_email": _("That is not a valid e-mail address."),
    "email_or_phone": _("Give an e-mail address or a phone number."),
    "invalid_month": _("The month must be written YYYY-MM."),
    "invalid_api_key": _("The API key is missing or not valid."),
    "unknown_simulated_profile": _("The simulator has no profile with that ICCID."),
    "illegal_profile_event": _("The profile cannot move to that status from its current one."),
    "invalid_profile_event": _("The event must be installed, enabled, first_use, disabled or "
                               "deleted."),
    "invalid_event_time": _("The event's time must be an ISO 8601 time with a zone, not in "
                            "the future and not before the profile was issued."),
    "simulated_profile_revoked": _("This simulated profile is revoked: nothing more can "
                                   "happen to it."),
    "unknown_supplier": _("That is not a supplier esimdesk knows."),
    "negative_cost": _("A cost cannot be negative."),
    "bundle_code_required": _("Enter the supplier's bundle code."),
    "same_currency": _("An exchange rate needs two different currencies."),
    "invalid_exchange_rate": _("An exchange rate must be a number above zero."),
    "unknown_article": _("There is no such help article."),
    "invalid_language": _("The language must be en or zh-hans."),
    "reason_required": _("Say why: the reason is kept in the audit log."),
    "esim_not_reissuable": _("Only an eSIM that is not in use can be reissued."),
    "reissue_in_progress": _("A new profile for this eSIM is already being prepared."),
    "message_empty": _("Write a message or attach a screenshot."),
    "message_too_long": _("The message is too long."),
    "attachment_empty": _("The file is empty."),
    "attachment_too_large": _("The screenshot is too large."),
    "attachment_type": _("Attach a screenshot as PNG, JPEG, GIF or WebP."),
    "attachment_missing": _("That file is not available."),
    "not_an_agent": _("Only support agents can do that."),
    "unknown_conversation": _("There is no such conversation."),
    "invalid_status": _("The status must be open, waiting or resolved."),
    "invalid_rating": _("Choose from 1 to 5 stars."),
    "conversation_not_resolved": _("You can rate a conversation once it is resolved."),
    "invalid_frame": _("That message could not be read: send a JSON object with a type, a body "
                       "and a client_id."),
    "refund_over_limit": _("That refund is above your limit: ask an admin."),
    "goodwill_over_limit": _("That extension is longer than you may give: ask an admin."),
    "invalid_days": _("Enter a whole number of days, at least 1."),
    "no_running_period": _("This eSIM has no plan running now to extend."),
    "esim_not_suspendable": _("Only an installed eSIM or one in use can be suspended."),
    "esim_not_suspended": _("This eSIM is not suspended."),
    "esim_not_cancellable": _("Only an eSIM that was never installed can be cancelled: suspend "
                              "an installed one."),
    "esim_not_revoked": _("This eSIM is not revoked."),
    "revoke_not_retryable": _("The supplier has already cancelled this profile."),
    "revoke_in_progress": _("The supplier is still being asked to cancel this profile."),
    "revoke_not_open": _("Nothing to settle: the supplier confirmed this cancellation or is "
                         "still being asked."),
    "order_not_fulfilled": _("This order has no eSIM ready yet: retry the activation instead."),
    "order_makes_no_esim": _("This order made no eSIM (a renewal or a top-up): there is no "
                             "install e-mail to send."),
    "no_email_address": _("This customer has no e-mail address."),
    "order_not_retryable": _("This order is not waiting for activation."),
    # Supplier callbacks and payment webhooks (provisioning.hooks, payments.views).
    "unauthenticated_supplier": _("The caller has not proved that it is this supplier."),
    "callback_too_large": _("The message is larger than this supplier's messages may be."),
    "callback_unavailable": _("Messages from this supplier cannot be received right now. "
                              "Please send it again later."),
    "malformed_event": _("The message is not in the form this address expects."),
    "malformed_notification": _("The notification is not valid: detail.field names the "
                                "field."),
    "unsupported_protocol": _("This address speaks ES2+: send X-Admin-Protocol "
                              "gsma/rsp/v2.x.y."),
    "unsupported_media_type": _("Send the message as JSON (Content-Type: application/json)."),
    # The input boundary (core.boundary) and the error pages (core.error_pages).
    "bad_request": _("The request is not valid."),
    "not_found": _("Not found."),
    "forbidden": _("You are not allowed to do that."),
    "csrf_failed": _("The form has expired or was not sent from this site. Reload the page "
                     "and try again."),
    "server_error": _("Something went wrong on our side. Please try again later."),
    "invalid_characters": _("The request contains characters that are not allowed."),
    "body_too_large": _("The request is too large."),
    "json_too_deep": _("The request body is nested too deeply."),
    "json_too_complex": _("The request body has too many parts."),
    "number_out_of_range": _("A number in the request is out of range."),
    "malformed_body": _("The request body cannot be read."),
    "too_many_fields": _("The request has too many fields."),
    "invalid_time": _("That time is not valid or is out of range."),
    "unknown_invoice": _("There is no such invoice."),
}


class DomainError(Exception):
    code = "error"
    status = 400
    default_message: Any = _("The request could not be completed.")

    def __init__(self, message: Any = None, *, code: str | None = None,
                 detail: Any = None, status: int | None = None) -> None:
        if code:
            self.code = code
        if message is None:
            message = MESSAGES.get(self.code, self.default_message)
        self.message = message
        if status:
            self.status = status
        self.detail = detail
        super().__init__(str(self.message))


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403
    default_message = _("You are not allowed to do that.")


class ValidationFailed(DomainError):
    code = "invalid"
    status = 422
    default_message = _("The input is not valid.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = _("The request conflicts with the current state.")


class IllegalTransition(DomainError):
    """A state machine was asked for a transition it does not allow. Never swallowed."""

    code = "illegal_transition"
    status = 409
    default_message = _("That change is not possible in the current state.")

    def __init__(self, machine: str, source: str, target: str) -> None:
        super().__init__(detail={"machine": machine, "from": source, "to": target})
        self.machine, self.source, self.target = machine, source, target


class RateLimited(DomainError):
    """Too many requests for now: the API answers 429 with ``Retry-After`` (whole seconds),
    a WebSocket an error frame with ``retry_after``."""

    code = "rate_limited"
    status = 429
    default_message = _("Too many requests. Please wait a moment and try again.")

    def __init__(self, message: Any = None, *, retry_after: int, code: str | None = None,
                 detail: dict[str, Any] | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message, code=code,
                         detail={**(detail or {}), "retry_after": self.retry_after})
