"""Payment methods: what a market can offer and what a client can choose.

Kept apart from the models so that markets (accounts) can name them without
importing the ledger.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentMethod(models.TextChoices):
    """How money is (or will be) paid; the method of a `Payment`."""

    CASH = "cash", _("Espèces")
    CHEQUE = "cheque", _("Chèque")
    TRANSFER = "transfer", _("Virement")
    CARD_TERMINAL = "card_terminal", _("Carte bancaire sur place")
    ONLINE_CARD = "online_card", _("Carte bancaire en ligne")
    # "Sur place": the client pays at pickup; the admin records how.
    ON_SITE = "on_site", _("Sur place (à préciser)")


# Paying from the balance is not a money movement: the order's debit simply
# lowers what the client holds. It is a choice at checkout, never a Payment.
CAGNOTTE = "cagnotte"

# What a market can tick in its settings, in the order they are shown.
OFFERABLE = [
    PaymentMethod.CHEQUE,
    PaymentMethod.CASH,
    PaymentMethod.TRANSFER,
    PaymentMethod.CARD_TERMINAL,
    PaymentMethod.ONLINE_CARD,
    CAGNOTTE,
]
OFFERABLE_CHOICES = [
    *[(m.value, m.label) for m in OFFERABLE if m != CAGNOTTE],
    (CAGNOTTE, _("Cagnotte (payer avec son solde)")),
]
# Paid at the pickup, so "sur place" can stand for any of them.
ON_SITE_METHODS = [PaymentMethod.CASH, PaymentMethod.CHEQUE, PaymentMethod.CARD_TERMINAL]

CHECKOUT_LABELS = {
    **{m.value: m.label for m in PaymentMethod},
    CAGNOTTE: _("Cagnotte (payé avec mon solde)"),
}


# The same choices as the staff read them, about the client.
STAFF_LABELS = {**CHECKOUT_LABELS, CAGNOTTE: _("Cagnotte (payé avec son solde)")}


def checkout_label(choice: str) -> str:
    return str(CHECKOUT_LABELS.get(choice, "—" if not choice else choice))


def staff_label(choice: str) -> str:
    return str(STAFF_LABELS.get(choice, "—" if not choice else choice))
