"""The admin's refund form for an online card payment (basket page)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cagette.money import MoneyField

from ..forms import OnceForm


class OnlineRefundForm(OnceForm):
    """« Rembourser » all or part of a received online payment, to the card."""

    token_prefix = "online-refund"
    amount = MoneyField(
        label=_("Montant à rembourser"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control"}),
    )

    def __init__(self, *args, amount=None, **kwargs):
        kwargs.setdefault("prefix", "remboursement")
        super().__init__(*args, **kwargs)
        if amount and not self.is_bound:
            self.initial.setdefault("amount", amount)
