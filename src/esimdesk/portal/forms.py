from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from esimdesk.payments import registry

CURRENCIES = [("CNY", "CNY ¥"), ("USD", "USD $"), ("EUR", "EUR €"), ("HKD", "HKD HK$")]


class CheckoutForm(forms.Form):
    plan = forms.SlugField(widget=forms.HiddenInput)
    iccid = forms.CharField(required=False, widget=forms.HiddenInput)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCIES,
                                 widget=forms.HiddenInput)
    provider = forms.ChoiceField(label=_("Pay with"), widget=forms.RadioSelect)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        providers = [(p.name, p.display_name) for p in
                     (registry.get(name) for name in registry.enabled_names())]
        self.fields["provider"].choices = providers  # type: ignore[attr-defined]
        if providers:
            self.fields["provider"].initial = providers[0][0]


class PayAgainForm(forms.Form):
    provider = forms.ChoiceField(label=_("Pay with"), widget=forms.RadioSelect)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        providers = [(p.name, p.display_name) for p in
                     (registry.get(name) for name in registry.enabled_names())]
        self.fields["provider"].choices = providers  # type: ignore[attr-defined]
        if providers:
            self.fields["provider"].initial = providers[0][0]


class LabelForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=60, required=False,
                            widget=forms.TextInput(attrs={"placeholder": _("e.g. Mum's phone")}))
