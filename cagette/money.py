"""Money: `Decimal` with two places from form to database to PDF.

`format_euros` is the one place that turns an amount into French text
(``1 234,56 €``); `MoneyField` is the one form field that reads one
(``12,50``, ``12.50``, ``1 234,5 €``).

`parse_decimal` is the one reading of any number a person types (amounts,
quantities, percentages): ASCII digits with at most one ``,`` or ``.``, of
bounded length, so that nothing typed (``1e999999999``, ``1_0``, ``１２``,
``٣``) reaches `Decimal` in a form it would accept and we would not. What a
person typed is shown back only through `typed_back`: as typed, or not at all
when it is too long, and never written out in expanded form.
"""

import re
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
NBSP = "\u00a0"
# re.ASCII and [0-9]: `\d` and `Decimal` also read « １２ » and « ٣ ».
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_SPACES = (" ", NBSP, "\u202f")
# Characters of a number once spaces are removed: « -1234567,89 » has 11; no
# amount or quantity anyone means comes near the bound.
MAX_NUMBER_LENGTH = 40
# What may be shown back as typed (spaces and « € » included).
MAX_TYPED_BACK = 60


class NumberTooLong(ValueError):
    """A number with more whole digits than any real amount or quantity: too large."""


def typed_back(text) -> str:
    """What a person typed, to show back in a form: as typed, or nothing if too long."""
    text = "" if text is None else str(text)
    return text if len(text) <= MAX_TYPED_BACK else ""


def parse_decimal(text, *, grouped: bool = False) -> Decimal:
    """Read a number typed by a person; raise `ValueError` if it is not one.

    ASCII digits with at most one ``,`` or ``.`` and an optional sign; with
    ``grouped``, spaces between groups of digits are ignored (``1 234,50``).
    No exponent, no ``_``, no other script's digits, no ``NaN``: the length is
    bounded before anything converts it.
    """
    cleaned = str("" if text is None else text).strip()
    for space in _SPACES if grouped else ():
        cleaned = cleaned.replace(space, "")
    cleaned = cleaned.replace(",", ".")
    if not _NUMBER_RE.fullmatch(cleaned):
        raise ValueError(typed_back(text))
    if len(cleaned) > MAX_NUMBER_LENGTH:
        whole = cleaned.lstrip("+-").partition(".")[0].lstrip("0")
        too_large = len(whole) > MAX_NUMBER_LENGTH // 2
        raise (NumberTooLong if too_large else ValueError)(typed_back(text))
    return Decimal(cleaned)


def round_cents(amount: Decimal) -> Decimal:
    """Round to the cent (half up): only for computed values, never for input."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_number(amount: Decimal | int | None, *, grouping: bool = True) -> str:
    """``Decimal("-1234.5")`` → ``-1 234,50`` (no-break space between thousands)."""
    if amount is None:
        return ""
    value = round_cents(Decimal(amount))
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
    """Read an amount typed by a person (``12,50 €``); raise `ValueError` if it is not one."""
    return parse_decimal(str(text).replace("€", ""), grouped=True)


class TypedNumberField(forms.CharField):
    """A number kept as typed, read by the form with `parse_decimal`; shown back bounded."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return typed_back(value) if isinstance(value, str) else value


class MoneyField(TypedNumberField):
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
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            amount = parse_amount(text)
        except NumberTooLong:
            raise self._too_large() from None
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if abs(amount) > self.max_amount:
            raise self._too_large()
        if amount.as_tuple().exponent < -2:
            raise ValidationError(self.error_messages["decimals"], code="decimals")
        return amount.quantize(CENT)

    def _too_large(self) -> ValidationError:
        return ValidationError(
            self.error_messages["too_large"],
            code="too_large",
            params={"max": format_euros(self.max_amount)},
        )

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
        return super().prepare_value(value)


# Quantities are stored with 9 digits; a value past this is no quantity to write out.
_QUANTITY_EXPONENTS = range(-12, 13)


def format_quantity(quantity: Decimal | int | str | None) -> str:
    """``Decimal("1.500")`` → ``1,5``; ``Decimal("10.000")`` → ``10``.

    A text is what a person typed: written the same way if it is a number,
    else shown back as typed (`typed_back`), never expanded (``1e999999999``).
    """
    if quantity is None or quantity == "":
        return ""
    try:
        value = parse_decimal(quantity) if isinstance(quantity, str) else Decimal(quantity)
    except (ArithmeticError, TypeError, ValueError):
        return typed_back(quantity)
    if not value.is_finite() or value and value.adjusted() not in _QUANTITY_EXPONENTS:
        return ""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")
