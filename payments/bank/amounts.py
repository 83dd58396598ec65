"""Reading the amounts and dates written in bank files, refusing what is not one.

Amounts go through `cagette.money.parse_decimal` (ASCII digits, bounded length,
no exponent), then must be exact to the cent: ``12.500`` is read as 12.50,
``12.345`` is refused. Nothing here ever goes through `float`.
"""

import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from cagette.money import CENT, parse_decimal, typed_back

from .parsed import StatementError

# Far above any market's bank account, far below what `Decimal` cannot quantize.
MAX_AMOUNT = Decimal("1000000000000")


def amount_refused(text) -> StatementError:
    return StatementError(
        _("Le montant « %(text)s » du relevé n'est pas un montant valide.")
        % {"text": typed_back(text)}
    )


def amount_exact(value: Decimal, text) -> Decimal:
    """``value`` to 2 places if that loses nothing; else the file is refused."""
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        raise amount_refused(text)
    cents = value.quantize(CENT)
    if cents != value:
        raise amount_refused(text)
    return cents


def amount_read(text: str) -> Decimal:
    """A written amount (``-1 234,56``, ``42.50``, ``+12,00 €``) as a Decimal of 2 places."""
    cleaned = str(text).replace("€", "").strip()
    try:
        value = parse_decimal(cleaned, grouped=True)
    except ValueError:
        raise amount_refused(text) from None
    return amount_exact(value, text)


def date_read(text: str, date_format: str) -> datetime.date:
    """A written date in ``date_format``; else the file is refused."""
    try:
        return datetime.datetime.strptime(text.strip(), date_format).date()
    except ValueError:
        raise StatementError(
            _("La date « %(text)s » du relevé n'est pas une date valide.")
            % {"text": typed_back(text)}
        ) from None
