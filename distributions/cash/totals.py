"""Totals per method, and the cheques and transfers received, one by one."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Count,
    Sum,
)

from cagette.money import ZERO
from payments.methods import PaymentMethod
from payments.models import (
    Payment,
)

from ..models import Distribution
from .queries import METHODS, received_payments


@dataclass(frozen=True)
class MethodTotal:
    method: PaymentMethod
    count: int
    total: Decimal

    @property
    def label(self) -> str:
        return self.method.label


def method_totals(distribution: Distribution) -> dict[str, MethodTotal]:
    """Count and total received per method, every method present (zero if none)."""
    rows = (
        received_payments(distribution)
        .order_by()
        .values("method")
        .annotate(count=Count("pk"), total=Sum("amount"))
    )
    found = {row["method"]: row for row in rows}
    totals = {}
    for method in METHODS:
        row = found.get(method, {"count": 0, "total": ZERO})
        totals[method.value] = MethodTotal(method, row["count"], row["total"])
    return totals


def payments_by(distribution: Distribution, method: PaymentMethod) -> list[Payment]:
    """The received payments of one method, oldest first, with their client and basket."""
    return list(
        received_payments(distribution)
        .filter(method=method)
        .select_related("membership__user", "order")
        .order_by("received_at", "pk")
    )


@dataclass(frozen=True)
class ChequeSlip:
    """The cheques to deposit at the bank (« bordereau de remise de chèques »)."""

    cheques: list[Payment]

    @property
    def count(self) -> int:
        return len(self.cheques)

    @property
    def total(self) -> Decimal:
        return sum((cheque.amount for cheque in self.cheques), ZERO)


def cheque_slip(distribution: Distribution) -> ChequeSlip:
    return ChequeSlip(payments_by(distribution, PaymentMethod.CHEQUE))
