"""The one sign-in policy: every door that signs someone in or sends them a secret counts here.

Doors: the portal's sign-in page, the headless API (``/_allauth/app|browser/v1/…``), the staff
console (which signs in through the portal's page), two-factor codes, password resets by
e-mail link and by SMS code, sign-in codes by e-mail or SMS, and sign-up. Each counts per
**account** (the e-mail address or phone number typed, or the user it belongs to) and per
**client address**, with these limits (``ESIMDESK_SIGNIN_LIMITS`` changes them):

- ``failed_signin`` — wrong passwords and wrong codes (second factor, SMS reset code):
  5 per 15 minutes per account, 30 per 15 minutes per address. Once reached, sign-in is
  refused even with the right password until the window ends or staff unlock the account.
- ``reset`` — password reset requests (e-mail link or SMS code): 5 an hour per address or
  number it is sent to, 20 an hour per client address.
- ``code`` — sign-in and verification codes sent by SMS or e-mail (login by code, phone and
  e-mail verification at sign-up and on resend): 5 an hour per recipient, 30 per client address.
- ``signup`` — sign-ups: 30 an hour per client address.

Unknown accounts count exactly like known ones, so no answer tells whether an account exists.
A refusal is the same everywhere: code ``too_many_attempts`` with a translated message; a
429 with ``Retry-After`` from the API, a form error (or a 429 page) in the browser.

The counters are in ``accounts/counters.py``: the database on the embedded default, Redis
when ``ESIMDESK_REDIS_URL`` is set — every process sees the same counts, and each hit is one
atomic operation, so concurrent requests cannot overtake a limit.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from esimdesk.accounts import counters
from esimdesk.accounts.limits import DEFAULT_LIMITS, Rate, parse_limits
from esimdesk.accounts.models import User
from esimdesk.accounts.phone_input import likely_regions
from esimdesk.accounts.phones import parse_phone
from esimdesk.core.errors import DomainError, ValidationFailed
from esimdesk.core.http import client_ip


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(detail={"retry_after": retry_after})
        self.retry_after = retry_after


def limits() -> dict[str, list[Rate]]:
    found = parse_limits(DEFAULT_LIMITS)
    found.update(parse_limits(getattr(settings, "SIGNIN_LIMITS", "") or ""))
    return found


def client_address(request: HttpRequest | None) -> str:
    """The client's address; IPv6 clients count per /64 (one customer's whole network)."""
    raw = client_ip(request) if request is not None else ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if address.version == 6:
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False).network_address)
    return str(address)


def normalize_account(value: str | None) -> str:
    """One spelling per account: e-mail addresses lower-cased, phone numbers in E.164 (typed
    in full, or as dialled in the visitor's likely country, as the sign-in form reads them:
    every spelling of one number counts as that number)."""
    text = (value or "").strip()
    if "@" in text:
        return text.lower()

    try:  # a number with its "+" or "00" is read in full; the region is for the rest
        return parse_phone(text, likely_regions()[0])
    except ValidationFailed:
        return text.lower()


def signin_account(login: str | None = None, *, user: Any = None) -> str:
    """The failed-sign-in counter's account: the user when the login belongs to one, so an
    e-mail address and a phone number of the same account share one count."""
    if user is None and login:

        identifier = normalize_account(login)
        field = "email__iexact" if "@" in identifier else "phone"
        user = User.objects.filter(**{field: identifier}).only("pk").first()
        if user is None:
            return f"login:{identifier}"
    return f"user:{user.pk}" if user is not None else "login:"


def _digest(value: str) -> str:
    # Keyed, so the table (or Redis) holds no readable address, number or e-mail address.
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:40]


def _keys(rule: str, *, account: str | None, address: str | None) -> list[tuple[Rate, str]]:
    pairs = []
    for rate in limits().get(rule, []):
        subject = account if rate.scope == "account" else address
        if subject is None:
            continue
        name = f"{rule}:{rate.scope}:{rate.window}:{_digest(subject)}"
        pairs.append((rate, name))
    return pairs


def _hit(pairs: list[tuple[Rate, str]]) -> None:
    """One atomic hit on each counter; ``TooManyAttempts`` if any goes over its limit."""
    store = counters.store()
    refused = 0
    for rate, name in pairs:
        count = store.hit(name, rate.window)
        if count.hits > rate.amount:
            refused = max(refused, count.retry_after)
    if refused:
        raise TooManyAttempts(refused)


def consume(rule: str, *, account: str | None, address: str | None) -> None:
    """Count one use of ``rule``; ``TooManyAttempts`` if that goes over a limit."""
    _hit(_keys(rule, account=account, address=address))


class SignInAttempt:
    """A sign-in counted as failed before the secret is checked, so any number of concurrent
    guesses cannot overtake the count; ``succeeded()`` takes it back."""

    def __init__(self, account: str, address: str) -> None:
        self.keys = _keys("failed_signin", account=account, address=address)
        _hit(self.keys)

    def succeeded(self) -> None:
        store = counters.store()
        for _rate, name in self.keys:
            store.undo(name)


def begin_signin(*, account: str, address: str) -> SignInAttempt:
    return SignInAttempt(account, address)


def record_failure(*, account: str, address: str) -> None:
    """A wrong second-factor or reset code: counted; refused at once if already locked."""
    consume("failed_signin", account=account, address=address)


def locked_for(*, account: str, address: str | None = None) -> int:
    """Seconds until ``account`` (or ``address``) may sign in again; 0 when it may now."""
    pairs = _keys("failed_signin", account=account, address=address)
    found = counters.store().peek(name for _rate, name in pairs)
    waits = [found[name].retry_after for rate, name in pairs
             if name in found and found[name].hits >= rate.amount]
    return max(waits, default=0)


def locks_of(*, user: Any) -> list[str]:
    """The policy's limits that hold ``user`` back now (for the staff console; one read)."""
    pairs = [("failed_signin", rate, name) for rate, name in
             _keys("failed_signin", account=signin_account(user=user), address=None)]
    for value in (user.email, user.phone):
        if value:
            for rule in ("reset", "code"):
                pairs += [(rule, rate, name) for rate, name in
                          _keys(rule, account=normalize_account(value), address=None)]
    found = counters.store().peek(name for _rule, _rate, name in pairs)
    reached = {rule for rule, rate, name in pairs
               if name in found and found[name].hits >= rate.amount}
    return [rule for rule in ("failed_signin", "reset", "code") if rule in reached]


def clear_account(*, user: Any) -> None:
    """Forget every per-account count of ``user`` (staff unlock, a completed password reset).
    Per-address counts stay: they protect the service, not one account."""
    names = [name for _rate, name in _keys("failed_signin", account=signin_account(user=user),
                                              address=None)]
    for value in (user.email, user.phone):
        if value:
            identifier = normalize_account(value)
            names += [name for _rate, name in _keys("failed_signin",
                                                    account=f"login:{identifier}",
                                                    address=None)]
            for rule in ("reset", "code"):
                names += [name for _rate, name in _keys(rule, account=identifier, address=None)]
    counters.store().clear(names)


# Answers ---------------------------------------------------------------------------------

def is_api_request(request: HttpRequest | None) -> bool:
    """The headless API (app and browser clients) answers JSON; everything else is a page."""
    if request is None:
        return False
    headless = getattr(getattr(request, "allauth", None), "headless", None)
    return headless is not None or request.path.startswith(("/_allauth/", "/api/"))


def json_response(error: TooManyAttempts) -> HttpResponse:
    """allauth's error envelope (``status``, ``errors``) plus esimdesk's ``code``, ``message``
    and ``detail``, so either kind of client reads it."""
    message = str(error.message)
    body = {"status": 429, "errors": [{"code": error.code, "message": message}],
            "code": error.code, "message": message, "detail": error.detail}
    response = HttpResponse(json.dumps(body), status=429, content_type="application/json")
    response["Retry-After"] = str(error.retry_after)
    return response


def page_response(request: HttpRequest, error: TooManyAttempts) -> HttpResponse:
    html = render_to_string("portal/too_many_attempts.html",
                            {"message": error.message, "retry_after": error.retry_after},
                            request=request)
    response = HttpResponse(html, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


def response_for(request: HttpRequest, error: TooManyAttempts) -> HttpResponse:
    return json_response(error) if is_api_request(request) else page_response(request, error)


def refuse(request: HttpRequest | None, error: TooManyAttempts, *, in_form: bool) -> None:
    """Stop the request with the policy's answer: inside a page's form validation a form
    error, else a response (JSON 429 for the API, a 429 page for the browser)."""
    from allauth.core.exceptions import ImmediateHttpResponse
    from django import forms

    if in_form and not is_api_request(request):
        raise forms.ValidationError(error.message, code=error.code)
    assert request is not None
    raise ImmediateHttpResponse(response_for(request, error))


def consume_once(request: HttpRequest, rule: str, *, account: str | None) -> None:
    """``consume`` for a request, at most once per (rule, account): a form that reserves the
    sending of a code before creating the account is not counted again when the code goes
    (and a refusal stays a refusal for the rest of the request)."""
    done: dict[tuple[str, str | None], TooManyAttempts | None] = request.__dict__.setdefault(
        "_signin_consumed", {})
    if (rule, account) not in done:
        try:
            consume(rule, account=account, address=client_address(request))
            done[(rule, account)] = None
        except TooManyAttempts as error:
            done[(rule, account)] = error
    refused = done[(rule, account)]
    if refused is not None:
        raise refused


# Hooks (connected in accounts/apps.py) ----------------------------------------------------

def second_factor_failed(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """A wrong two-factor code counts as a failed sign-in of the account."""
    try:
        record_failure(account=signin_account(user=user), address=client_address(request))
    except TooManyAttempts as error:
        refuse(request, error, in_form=True)  # raised inside the code form's validation


def second_factor_used(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """The right two-factor code does not open a locked account either."""
    wait = locked_for(account=signin_account(user=user), address=client_address(request))
    if wait:
        refuse(request, TooManyAttempts(wait), in_form=False)


def password_was_reset(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Whoever proved they own the address or number may sign in again at once."""
    clear_account(user=user)
