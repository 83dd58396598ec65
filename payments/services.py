"""Client-account operations recorded by admins and treasurers.

Each is one call into the posting service (`payments.ledger`), so the rules
of the ledger hold here too. ``amount`` arguments are in the client's view:
positive means the client gains credit.
"""

from datetime import date as date_type
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from cagette.i18n import stored_language

from .ledger import (
    Leg,
    client_account,
    market_account,
    transaction_post,
    transaction_reverse,
)
from .models import (
    METHOD_ACCOUNT,
    AccountKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Transaction,
    TransactionKind,
)


def opening_balance_record(
    *,
    membership: Membership,
    amount: Decimal,
    label: str,
    recorded_by,
    date: date_type | None = None,
    idempotency_key: str | None = None,
) -> Transaction:
    """« Reprise de solde »: carry over a balance kept elsewhere.

    ``amount`` > 0: the client starts with a credit; < 0: with a debt.
    """
    client = client_account(membership)
    opening = market_account(membership.market, AccountKind.OPENING)
    txn, _ = transaction_post(
        market=membership.market,
        kind=TransactionKind.OPENING_BALANCE,
        label=label,
        legs=[Leg(client, -amount), Leg(opening, amount)],
        posted_by=recorded_by,
        date=date,
        idempotency_key=idempotency_key,
    )
    return txn


def payment_record(
    *,
    membership: Membership,
    method: str,
    amount: Decimal,
    recorded_by,
    paid_on: date_type | None = None,
    reference: str = "",
    cheque_number: str = "",
    bank: str = "",
    idempotency_key: str | None = None,
) -> Payment:
    """Record money received from a client (e.g. AMAP contract cheques).

    Creates a received `Payment` and posts it: the money account for the
    method is debited, the client account credited.
    """
    method = PaymentMethod(method)
    paid_on = paid_on or timezone.localdate()
    with stored_language():
        label = str(method.label) + (f" n° {cheque_number}" if cheque_number else "")
    with transaction.atomic():
        txn, created = transaction_post(
            market=membership.market,
            kind=TransactionKind.PAYMENT,
            label=label,
            legs=[
                Leg(market_account(membership.market, METHOD_ACCOUNT[method]), amount),
                Leg(client_account(membership), -amount),
            ],
            posted_by=recorded_by,
            date=paid_on,
            idempotency_key=idempotency_key,
        )
        if not created:
            return txn.payment
        return Payment.objects.create(
            market=membership.market,
            membership=membership,
            method=method,
            amount=amount,
            status=PaymentStatus.RECEIVED,
            reference=reference,
            cheque_number=cheque_number,
            bank=bank,
            paid_on=paid_on,
            created_by=recorded_by,
            received_at=timezone.now(),
            received_by=recorded_by,
            transaction=txn,
        )


def transaction_correct(
    *, txn: Transaction, reason: str, corrected_by, idempotency_key: str | None = None
) -> Transaction:
    """Correct a mistaken operation by reversing it; a reversed payment is cancelled."""
    with transaction.atomic():
        reversal, created = transaction_reverse(
            txn=txn, reason=reason, posted_by=corrected_by, idempotency_key=idempotency_key
        )
        if created:
            Payment.objects.filter(transaction=txn).update(status=PaymentStatus.CANCELLED)
    return reversal
