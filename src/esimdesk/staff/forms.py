from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class RefundForm(forms.Form):
    """Refund all or part of a payment."""

    amount = forms.DecimalField(label=_("Amount"), min_value=0, decimal_places=2)
    reason = forms.CharField(label=_("Reason"), max_length=255)
