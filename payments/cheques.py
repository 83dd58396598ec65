"""Cheques already recorded: the same cheque is never received twice for a client.

A treasurer who goes back in the browser and submits a cheque again sends a
new form token, so the ledger's idempotency key does not see the repeat. The
cheque's number (and bank) does.
"""

from django.db.models import QuerySet, Value
from django.db.models.functions import Replace, Upper

from .methods import PaymentMethod
from .models import Payment, PaymentStatus


def cheque_key(text: str) -> str:
    """How a number or a bank is compared: case and spaces do not count."""
    return "".join((text or "").split()).upper()


def _compact(field: str):
    return Replace(Upper(field), Value(" "), Value(""))


def received_cheques(*, membership_id: int, cheque_number: str, bank: str = "") -> QuerySet:
    """This client's received, not reversed, cheques with this number (and bank).

    The banks are compared only when both are known: a bank left blank
    once does not make the same cheque a different one.
    """
    cheques = (
        Payment.objects.filter(
            membership_id=membership_id,
            method=PaymentMethod.CHEQUE,
            status=PaymentStatus.RECEIVED,
            transaction__reversal__isnull=True,
        )
        .annotate(number_key=_compact("cheque_number"), bank_key=_compact("bank"))
        .filter(number_key=cheque_key(cheque_number))
    )
    if cheque_key(bank):
        cheques = cheques.filter(bank_key__in=["", cheque_key(bank)])
    return cheques.order_by("received_at", "pk")
