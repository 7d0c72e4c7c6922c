"""The staff console's sign-in: the portal's sign-in page, never Django admin's own form.

So staff pass the same sign-in policy as everyone (failed sign-ins lock the account, per
address limits) and the same second factor, and there is no second password form to guess
at. ``/staff/login/`` only sends people on: whatever it is posted, it signs nobody in.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def _target(request: HttpRequest) -> str:
    target = request.GET.get("next") or "/staff/"
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure())
    return target if safe and target.startswith("/staff/") else "/staff/"


def staff_login(request: HttpRequest) -> HttpResponse:
    target = _target(request)
    user = request.user
    if user.is_authenticated:
        if user.is_staff and user.is_active:
            return redirect(target)
        # Signed in, but not staff: sending them to the sign-in page would come straight
        # back here (it sends signed-in people on to ``next``).
        return render(request, "staff/not_staff.html", status=403)
    return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")


def staff_password_change(request: HttpRequest) -> HttpResponse:
    """The portal's password page instead of Django admin's: one form that checks the current
    password, so one place that counts wrong guesses at it."""
    return redirect("account_change_password")
