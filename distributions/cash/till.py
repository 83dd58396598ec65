"""The till: the float, the cash in and out, what was counted at the end."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    Count,
    Sum,
)
from django.utils import timezone

from cagette.money import ZERO

from ..models import CashCount, Distribution
from .queries import cash_refund_entries, money_or_zero


@dataclass(frozen=True)
class Till:
    opening_float: Decimal
    cash_in: Decimal
    cash_out: Decimal  # refunded in cash, as a positive amount
    refund_count: int
    counted: Decimal | None  # None until someone counts
    recorded: bool = False  # whether anyone has entered the float or the count

    @property
    def expected(self) -> Decimal:
        """What the till should hold at the end of the distribution."""
        return self.opening_float + self.cash_in - self.cash_out

    @property
    def difference(self) -> Decimal | None:
        """Counted minus expected: negative is cash missing, positive is cash over."""
        return None if self.counted is None else self.counted - self.expected

    @property
    def state(self) -> str:
        """``uncounted``, ``exact``, ``short`` (manque) or ``over`` (excédent)."""
        difference = self.difference
        if difference is None:
            return "uncounted"
        if difference == 0:
            return "exact"
        return "short" if difference < 0 else "over"

    @property
    def gap(self) -> Decimal | None:
        """The difference as a positive amount, said with « manque » or « excédent »."""
        return None if self.difference is None else abs(self.difference)


def till_read(distribution: Distribution, cash_in: Decimal) -> Till:
    refunds = cash_refund_entries(distribution).aggregate(
        total=money_or_zero(Sum("amount")), count=Count("pk")
    )
    count = CashCount.objects.filter(distribution=distribution).first()
    return Till(
        opening_float=count.opening_float if count else ZERO,
        cash_in=cash_in,
        cash_out=-refunds["total"],  # a credit to the cash box is negative
        refund_count=refunds["count"],
        counted=count.counted if count else None,
        recorded=count is not None,
    )


def cash_count_record(
    *,
    distribution: Distribution,
    counted_by,
    opening_float: Decimal | None = None,
    counted: Decimal | None = None,
) -> CashCount:
    with transaction.atomic():
        count, _created = CashCount.objects.select_for_update().get_or_create(
            distribution=distribution
        )
        if opening_float is not None:
            count.opening_float = opening_float
        if counted is not None:
            count.counted = counted
        count.updated_by = counted_by
        count.updated_at = timezone.now()
        count.save()
    return count
