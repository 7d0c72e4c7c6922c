"""Account settings, the language switcher, password reset by SMS code."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from esimdesk.accounts import services as accounts
from esimdesk.accounts import signin_policy
from esimdesk.accounts.forms import PreferencesForm, SmsResetConfirmForm, SmsResetRequestForm
from esimdesk.catalog import queries as catalog_queries
from esimdesk.core.errors import DomainError
from esimdesk.payments import saved_methods


@login_required
def account(request: HttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST or None, instance=request.user,
                           sold_countries=catalog_queries.sold_country_codes())
    if request.method == "POST" and form.is_valid():
        accounts.update_preferences(user=request.user, **{
            field: form.cleaned_data[field] for field in PreferencesForm.Meta.fields})
        translation.activate(request.user.language)
        messages.success(request, _("Settings saved."))
        response = redirect("portal:account")
        _remember_language(response, request.user.language)
        return response
    from allauth.mfa.models import Authenticator

    return render(request, "portal/account.html", {
        "form": form, "saved_methods": list(saved_methods.methods_of(request.user)),
        "has_totp": Authenticator.objects.filter(user=request.user,
                                                 type=Authenticator.Type.TOTP).exists()})


def _remember_language(response: HttpResponse, language: str) -> None:
    # The same cookie attributes as Django's own language cookie (Secure in production).
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language,
                        max_age=settings.LANGUAGE_COOKIE_AGE,
                        secure=settings.LANGUAGE_COOKIE_SECURE,
                        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                        samesite=settings.LANGUAGE_COOKIE_SAMESITE)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The language switcher: a plain form, so it works without JavaScript."""
    language = request.POST.get("language", "")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    response = redirect(target)
    if language in dict(settings.LANGUAGES):
        _remember_language(response, language)
        if request.user.is_authenticated:
            accounts.update_preferences(user=request.user, language=language)
    return response


def sms_reset_request(request: HttpRequest) -> HttpResponse:
    form = SmsResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            accounts.request_sms_password_reset(
                phone=form.cleaned_data["phone"],
                address=signin_policy.client_address(request))
        except DomainError as error:
            form.add_error("phone", str(error.message))
        else:
            request.session["sms_reset_phone"] = form.cleaned_data["phone"]
            messages.info(request, _("If an account has this number, we have sent it a code."))
            return redirect("portal:sms_reset_confirm")
    return render(request, "portal/sms_reset_request.html", {"form": form})


def sms_reset_confirm(request: HttpRequest) -> HttpResponse:
    form = SmsResetConfirmForm(request.POST or None,
                               initial={"phone": request.session.get("sms_reset_phone", "")})
    if request.method == "POST" and form.is_valid():
        try:
            accounts.reset_password_with_sms_code(phone=form.cleaned_data["phone"],
                                                  code=form.cleaned_data["code"],
                                                  new_password=form.cleaned_data["password"],
                                                  address=signin_policy.client_address(request))
        except DomainError as error:
            field = "password" if error.code == "weak_password" else "code"
            form.add_error(field, str(error.message))
        else:
            messages.success(request, _("Your password has been changed. Sign in with it now."))
            return redirect("account_login")
    return render(request, "portal/sms_reset_confirm.html", {"form": form})


@require_POST
@login_required
def saved_method_action(request: HttpRequest, method_id: int) -> HttpResponse:
    try:
        if request.POST.get("action") == "default":
            saved_methods.make_default(user=request.user, method_id=method_id)
        elif request.POST.get("action") == "remove":
            saved_methods.remove(user=request.user, method_id=method_id)
            messages.success(request, _("The payment method was removed."))
    except DomainError as error:
        messages.error(request, str(error.message))
    return redirect("portal:account")
