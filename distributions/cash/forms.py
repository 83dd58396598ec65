"""The till's form on « Encaissements »: the float at opening and the cash counted."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cagette.money import MoneyField

TILL_MAX = Decimal("100000")


class TillAmountField(MoneyField):
    """Cash in a till: zero is a real answer (no float, an empty till), negative is not."""

    default_error_messages = {
        "negative": _("Le montant ne peut pas être négatif."),
    }

    def __init__(self, **kwargs):
        super().__init__(max_amount=TILL_MAX, **kwargs)

    def validate(self, value):
        if value is not None and value == 0:
            return
        super().validate(value)


class CashCountForm(forms.Form):
    """Either figure may be entered alone: the float in the morning, the count at the end.

    A field left empty keeps what was recorded, so sending the form twice changes nothing.
    """

    opening_float = TillAmountField(
        label=_("Fond de caisse à l'ouverture"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0,00"}),
    )
    counted = TillAmountField(
        label=_("Espèces comptées à la fin"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0,00"}),
    )

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("opening_float") is None and data.get("counted") is None:
            raise ValidationError(
                _("Saisissez le fond de caisse, les espèces comptées, ou les deux.")
            )
        return data
