"""Money: `Decimal` with two places from form to database to PDF.

`format_euros` is the one place that turns an amount into French text
(``1 234,56 €``); `MoneyField` is the one form field that reads one
(``12,50``, ``12.50``, ``1 234,5 €``).
"""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")
_AMOUNT_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
NBSP = "\u00a0"


def to_cents(amount: Decimal) -> Decimal:
    """Round to the cent (half up): only for computed values, never for input."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_number(amount: Decimal | int | None, *, grouping: bool = True) -> str:
    """``Decimal("-1234.5")`` → ``-1 234,50`` (no-break space between thousands)."""
    if amount is None:
        return ""
    value = to_cents(Decimal(amount))
    sign = "-" if value < 0 else ""
    units, cents = f"{abs(value):.2f}".split(".")
    if grouping:
        groups = []
        while len(units) > 3:
            groups.insert(0, units[-3:])
            units = units[:-3]
        groups.insert(0, units)
        units = NBSP.join(groups)
    return f"{sign}{units},{cents}"


def format_euros(amount: Decimal | int | None) -> str:
    """``Decimal("1234.56")`` → ``1 234,56 €``."""
    if amount is None:
        return ""
    return f"{format_number(amount)}{NBSP}€"


def parse_amount(text: str) -> Decimal:
    """Read an amount typed by a person; raise `ValueError` if it is not one."""
    cleaned = (
        str(text).strip().replace("€", "").replace(NBSP, "").replace("\u202f", "").replace(" ", "")
    )
    cleaned = cleaned.replace(",", ".")
    if not _AMOUNT_RE.match(cleaned):
        raise ValueError(text)
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes it
        raise ValueError(text) from exc


class MoneyField(forms.CharField):
    """An amount in euros: accepts ``12,50`` and ``12.50``; at most 2 decimals.

    By default the amount must be strictly positive; ``allow_negative=True``
    accepts negative amounts (an opening balance can be a debt). Zero is never
    an amount worth recording.
    """

    default_error_messages = {
        "invalid": _("Saisissez un montant en euros, par exemple 12,50."),
        "decimals": _("Le montant ne peut pas avoir plus de 2 décimales."),
        "zero": _("Le montant ne peut pas être nul."),
        "negative": _("Le montant doit être positif."),
        "too_large": _("Le montant ne peut pas dépasser %(max)s."),
    }

    def __init__(self, *, allow_negative: bool = False, max_amount=None, **kwargs):
        self.allow_negative = allow_negative
        self.max_amount = Decimal(max_amount or settings.MONEY_MAX_AMOUNT)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            amount = parse_amount(text)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if abs(amount) > self.max_amount:  # before quantize: huge numbers overflow it
            raise ValidationError(
                self.error_messages["too_large"],
                code="too_large",
                params={"max": format_euros(self.max_amount)},
            )
        if amount.as_tuple().exponent < -2:
            raise ValidationError(self.error_messages["decimals"], code="decimals")
        return amount.quantize(CENT)

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        if value == 0:
            raise ValidationError(self.error_messages["zero"], code="zero")
        if value < 0 and not self.allow_negative:
            raise ValidationError(self.error_messages["negative"], code="negative")

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return format_number(value, grouping=False)
        return value


def format_quantity(quantity: Decimal | int | None) -> str:
    """``Decimal("1.500")`` → ``1,5``; ``Decimal("10.000")`` → ``10``."""
    if quantity is None or quantity == "":
        return ""
    try:
        text = f"{Decimal(quantity):f}"
    except (ArithmeticError, TypeError, ValueError):
        return str(quantity)  # what the person typed, shown back as is
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")
