"""Labels of ledger transactions, in the reader's language.

``Transaction.label`` is the audit text: written once, in French, when the
transaction is posted, and never changed (the ledger is append-only). What
people read is `Transaction.display_label`: the same wording rendered in the
active language from the transaction's kind and what it refers to (its
order, its payment, the transaction it reverses…).

Each kind offers the wordings its label may have been written with
(`Wording`). The first whose French rendering is the stored label is
rendered in the reader's language; when none is (free text typed by a
treasurer, an older wording), the stored label is shown as written. So no
row is ever rewritten, and a label is never translated into something else
than what was recorded.

This module reads the models' attributes but imports none of them: the
models map each kind to its wordings (see `payments.models`).
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext, gettext_noop

from cagette.i18n import stored_language

from .methods import PaymentMethod

ORDER_FIRST = gettext_noop("Commande panier n° %(number)s")
ORDER_ADDITION = gettext_noop("Complément de commande panier n° %(number)s")
ORDER_CHANGE = gettext_noop("Modification de commande panier n° %(number)s")
ORDER_ADJUSTMENT = gettext_noop("Ajustement de commande panier n° %(number)s")
CHEQUE_PAYMENT = gettext_noop("%(method)s n° %(number)s")
CASH_REFUND = gettext_noop("Remboursement en espèces")
ONLINE_REFUND = gettext_noop("Remboursement carte bancaire en ligne")
OPENING_BALANCE = gettext_noop("Reprise de solde")
REVERSAL = gettext_noop("Annulation : %(label)s")
PRODUCER_PAYOUT = gettext_noop("Versement en ligne à %(producer)s — panier n° %(number)s")
CHEQUE_DEPOSIT = gettext_noop("Remise de chèques en banque")
CARD_SETTLEMENT = gettext_noop("Remise du terminal de paiement en banque")

_DATE_SUFFIX = re.compile(r" \(\d{2}/\d{2}/\d{4}\)$")
# Stored labels are cut to the column's length.
LABEL_MAX_LENGTH = 200
# Typography may put no-break spaces where older labels have plain ones.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})


@dataclass(frozen=True)
class Wording:
    """A message and its values, rendered in the language active when read.

    ``values`` may hold lazy texts or other wordings: they are rendered in
    the same language. ``suffix`` is added as is (a date in figures).
    """

    message: str
    values: dict = field(default_factory=dict)
    suffix: str = ""

    def __str__(self) -> str:
        text = gettext(self.message)
        if self.values:
            text %= {key: str(value) for key, value in self.values.items()}
        return text + self.suffix


def _same(french: str, stored: str) -> bool:
    return french[:LABEL_MAX_LENGTH].translate(_SPACES) == stored.translate(_SPACES)


def display_label(txn, wordings: Iterable[Wording]) -> str:
    """The first of ``wordings`` that wrote ``txn.label``, in the active language."""
    for wording in wordings:
        with stored_language():
            french = str(wording)
        if _same(french, txn.label):
            return str(wording)
    return txn.label


def payment_wording(method: PaymentMethod, cheque_number: str = "") -> Wording:
    """A received payment: its method, and the cheque's number if any."""
    if cheque_number:
        return Wording(CHEQUE_PAYMENT, {"method": method.label, "number": cheque_number})
    return Wording("%(method)s", {"method": method.label})


def reversal_wording(original) -> Wording:
    return Wording(REVERSAL, {"label": _Label(original)})


@dataclass(frozen=True)
class _Label:
    """Another transaction's label, rendered when this one is."""

    txn: object

    def __str__(self) -> str:
        return self.txn.display_label


# What each kind of transaction may have been labelled with. Each function
# takes a transaction and returns its candidate wordings.


def order_wordings(txn) -> list[Wording]:
    order = txn.order
    if order is None:
        return []
    # The distribution's date when ordered, in figures: the label keeps it if
    # the distribution was moved since.
    written = _DATE_SUFFIX.search(txn.label)
    date = written.group(0) if written else f" ({order.distribution.date:%d/%m/%Y})"
    number = {"number": order.number}
    messages = (ORDER_FIRST, ORDER_ADDITION, ORDER_CHANGE)
    return [Wording(message, number, date) for message in messages]


def adjustment_wordings(txn) -> list[Wording]:
    return [Wording(ORDER_ADJUSTMENT, {"number": txn.order.number})] if txn.order else []


def payment_wordings(txn) -> list[Wording]:
    payment = _related(txn, "payment")
    if payment is None:
        return []
    return [payment_wording(PaymentMethod(payment.method), payment.cheque_number)]


def refund_wordings(txn) -> list[Wording]:
    return [Wording(CASH_REFUND), Wording(ONLINE_REFUND)]


def opening_wordings(txn) -> list[Wording]:
    # Otherwise free text typed by the treasurer: shown as typed.
    return [Wording(OPENING_BALANCE)]


def reversal_wordings(txn) -> list[Wording]:
    return [reversal_wording(txn.reverses)] if txn.reverses_id else []


def producer_transfer_wordings(txn) -> list[Wording]:
    transfer = _related(txn, "producer_transfer")
    if transfer is None or txn.order is None:
        return []
    values = {"producer": transfer.producer.name, "number": txn.order.number}
    return [Wording(PRODUCER_PAYOUT, values)]


def _related(txn, name: str):
    """A reverse one-to-one, or None when nothing points back."""
    try:
        return getattr(txn, name)
    except ObjectDoesNotExist:
        return None


WordingsOf = Callable[[object], list[Wording]]


def deposit_wordings(txn) -> list[Wording]:
    return [Wording(CHEQUE_DEPOSIT), Wording(CARD_SETTLEMENT)]
