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
    "invalid_phone": _("Enter a valid phone number with its country code."),
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
    "malformed_json": _("The request body is not valid JSON."),
    "provider_unavailable": _("The payment service is not answering. Please try again."),
    "provider_refused": _("The payment service refused this payment."),
    "invalid_request": _("Some fields are missing or not valid."),
    "unauthenticated": _("Sign in first."),
    "bad_signature": _("The signature of the message does not verify."),
    "stale_signature": _("The signature of the message is too old."),
    "too_many_codes": _("Too many codes requested. Try again in an hour."),
    "invalid_code": _("That code is not valid or has expired."),
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
