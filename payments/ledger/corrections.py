"""« Annuler » in a client's history: a mistaken operation corrected by its reversal.

What a reversal can undo, and the correction itself: the reversal posted and,
for a payment, the payment cancelled with it (`transaction_correct`).
"""

from django.db import transaction
from django.utils.translation import gettext_lazy

from ..models import (
    AccountKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Transaction,
    TransactionKind,
)
from .posting import retried_on_conflict, transaction_reverse


class CorrectionRefused(Exception):
    """This operation is not corrected by a reversal; the message says what to do instead."""


# What « Annuler » cannot undo, and what to do instead.
_NOT_CORRECTED_BY_REVERSAL = {
    TransactionKind.ORDER: gettext_lazy(
        "Une commande ne s'annule pas depuis l'historique : pour corriger son montant, "
        "modifiez la commande (liste des commandes de sa distribution)."
    ),
    TransactionKind.ORDER_ADJUSTMENT: gettext_lazy(
        "Un ajustement de commande ne s'annule pas depuis l'historique : "
        "modifiez à nouveau la commande."
    ),
    TransactionKind.REFUND: gettext_lazy(
        "Un remboursement sur la carte ne s'annule pas : Stripe a rendu l'argent au client. "
        "S'il vous le redonne, enregistrez un paiement."
    ),
    TransactionKind.REVERSAL: gettext_lazy(
        "Une annulation ne s'annule pas : enregistrez une nouvelle opération."
    ),
}
_NOT_FROM_THE_HISTORY = gettext_lazy(
    "Cette opération ne s'annule pas depuis l'historique du client."
)
_ONLINE_NOT_CORRECTED = gettext_lazy(
    "Un paiement en ligne ne s'annule pas depuis l'historique : l'argent est chez Stripe. "
    "Remboursez-le depuis la page du panier, à la distribution."
)


def correction_refusal(txn: Transaction) -> str | None:
    """Why « Annuler » cannot reverse ``txn``, in French; None when it can.

    A reversal only undoes the ledger. It is sound where the ledger is all
    there is (an opening balance, cash given back by mistake: the till and
    the basket read a reversed refund as never made) or where the one other
    record follows it (a payment recorded by hand or received at the
    distribution becomes cancelled). An order's debit mirrors its lines and
    total, which a reversal would leave behind; money paid online sits with
    Stripe, and what Stripe refunded has left it.
    """
    if txn.kind == TransactionKind.OPENING_BALANCE:
        return None
    if txn.kind == TransactionKind.REFUND and not _moves_online_money(txn):
        return None
    if txn.kind == TransactionKind.PAYMENT:
        payment = getattr(txn, "payment", None)  # None: not a payment anyone recorded
        if payment is None:
            return str(_NOT_FROM_THE_HISTORY)
        return str(_ONLINE_NOT_CORRECTED) if payment.method == PaymentMethod.ONLINE_CARD else None
    return str(_NOT_CORRECTED_BY_REVERSAL.get(txn.kind, _NOT_FROM_THE_HISTORY))


def _moves_online_money(txn: Transaction) -> bool:
    return txn.entries.filter(account__kind=AccountKind.ONLINE).exists()


@retried_on_conflict
def transaction_correct(
    *, txn: Transaction, reason: str, corrected_by, idempotency_key: str | None = None
) -> Transaction:
    """Correct a mistaken operation by reversing it; a reversed payment is cancelled.

    Raises `CorrectionRefused` for operations a reversal would not undo
    (see `correction_refusal`).
    """
    refusal = correction_refusal(txn)
    if refusal:
        raise CorrectionRefused(refusal)
    with transaction.atomic():
        reversal, created = transaction_reverse(
            txn=txn, reason=reason, posted_by=corrected_by, idempotency_key=idempotency_key
        )
        if created:
            Payment.objects.filter(transaction=txn).update(status=PaymentStatus.CANCELLED)
    return reversal
