"""The CSV export's lines: each received payment, and each cash refund as negative."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from payments.methods import PaymentMethod
from payments.models import (
    AccountKind,
    Entry,
    Payment,
)

from ..models import Distribution
from .queries import received_payments, refund_entries


@dataclass(frozen=True)
class CashLine:
    """One line of the CSV: a received payment, or a cash refund (negative)."""

    at: datetime | None
    kind: str
    method: str
    client: str
    basket: int | None
    amount: Decimal
    cheque_number: str = ""
    bank: str = ""
    reference: str = ""


def _payment_line(payment: Payment) -> CashLine:
    return CashLine(
        at=payment.received_at,
        kind=str(_("Paiement")),
        method=payment.get_method_display(),
        client=payment.membership.user.display_name,
        basket=payment.order.number if payment.order else None,
        amount=payment.amount,
        cheque_number=payment.cheque_number,
        bank=payment.bank,
        reference=payment.reference,
    )


REFUND_METHOD = {
    AccountKind.CASH: PaymentMethod.CASH,
    AccountKind.ONLINE: PaymentMethod.ONLINE_CARD,
}


def _refund_line(entry: Entry) -> CashLine:
    order = entry.transaction.order
    return CashLine(
        at=entry.transaction.created_at,
        kind=str(_("Remboursement")),
        method=str(REFUND_METHOD[entry.account.kind].label),
        client=order.membership.user.display_name,
        basket=order.number,
        amount=entry.amount,  # the cash box credited: already negative
        reference=order.reference,
    )


def cash_lines(distribution: Distribution) -> list[CashLine]:
    """Every received payment, then every refund (cash or card), in the order they happened."""
    payments = (
        received_payments(distribution)
        .select_related("membership__user", "order__distribution")
        .order_by("received_at", "pk")
    )
    refunds = (
        refund_entries(distribution)
        .select_related(
            "account",
            "transaction__order__membership__user",
            "transaction__order__distribution",
        )
        .order_by("transaction__created_at", "pk")
    )
    return [*map(_payment_line, payments), *map(_refund_line, refunds)]
