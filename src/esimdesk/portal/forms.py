from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from esimdesk.core.errors import MESSAGES
from esimdesk.orders.lines import STARTS
from esimdesk.payments import registry
from esimdesk.payments import services as payments

CURRENCIES = [("CNY", "CNY ¥"), ("USD", "USD $"), ("EUR", "EUR €"), ("HKD", "HKD HK$")]


class PaymentMethodForm(forms.Form):
    """The payment methods that accept the order's currency (and nothing else)."""

    provider = forms.ChoiceField(label=_("Pay with"), widget=forms.RadioSelect)
    save_method = forms.BooleanField(
        label=_("Keep this payment method for automatic renewals"), required=False)

    def __init__(self, *args: object, currency: str = "USD", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        methods = payments.methods_for(currency)
        self.fields["provider"].choices = methods  # type: ignore[attr-defined]
        if methods:
            self.fields["provider"].initial = methods[0][0]
        self.saving_providers = [p.name for p in registry.available_for(currency)
                                 if p.supports_saved_methods]


class CheckoutForm(PaymentMethodForm):
    plan = forms.SlugField(required=False, widget=forms.HiddenInput)
    iccid = forms.CharField(required=False, widget=forms.HiddenInput)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCIES,
                                 widget=forms.HiddenInput)
    #: a top-up product, or a plan change (``now`` / ``period_end``)
    product = forms.SlugField(required=False, widget=forms.HiddenInput)
    change = forms.ChoiceField(required=False, choices=[("", ""), ("now", "now"),
                                                        ("period_end", "period_end")],
                               widget=forms.HiddenInput)
    #: a renewal: when it starts (``orders.lines.STARTS``)
    starts = forms.ChoiceField(required=False, choices=[("", ""), *((s, s) for s in STARTS)],
                               widget=forms.HiddenInput)
    #: the amounts the page showed: a different price is refused, never charged
    expected_total = forms.IntegerField(required=False, widget=forms.HiddenInput)
    expected_refund = forms.IntegerField(required=False, widget=forms.HiddenInput)


class PayAgainForm(PaymentMethodForm):
    pass


class LabelForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=60, required=False,
                            widget=forms.TextInput(attrs={"placeholder": _("e.g. Mum's phone")}))


class GuestCheckoutForm(CheckoutForm):
    """Buying a new eSIM without signing in: an e-mail address is all it takes (an account is
    made for it, or the order goes on the account it belongs to; docs/accounts.md)."""

    email = forms.EmailField(
        label=_("Your e-mail address"), max_length=254,
        error_messages={"invalid": MESSAGES["invalid_email"]},
        help_text=_("We send the receipt and the install details here."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email",
                                       "placeholder": "name@example.com"}))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        del self.fields["save_method"]  # a saved method needs a signed-in traveller
        self.saving_providers = []


class FirstPasswordForm(forms.Form):
    password1 = forms.CharField(label=_("Choose a password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("The same password again"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self) -> dict[str, object]:
        data: dict[str, object] = super().clean() or {}
        if data.get("password1") and data.get("password2") != data.get("password1"):
            self.add_error("password2", _("You must type the same password each time."))
        return data
