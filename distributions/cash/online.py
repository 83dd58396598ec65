"""Online payments: what went back to the cards, and how the rest is split
between the producers (Stripe Connect transfers) and the market.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Count,
    F,
    Q,
    QuerySet,
    Sum,
)

from cagette.money import ZERO, round_cents
from payments.models import (
    AccountKind,
    PaymentStatus,
    ProducerTransfer,
    ProducerTransferStatus,
    TransferReversalStatus,
)
from payments.stripe.payout_sending import UNSENT

from ..models import Distribution
from .queries import money_or_zero, refund_entries


@dataclass(frozen=True)
class ProducerSplit:
    """One producer's part of the online payments: sent to their Stripe account, less
    what refunds took back. Transfers Stripe refused are left out (their postings
    are reversed: the market pays the producer as before) and counted apart."""

    producer_id: int
    producer: str
    count: int
    share: Decimal
    commission: Decimal  # kept by the market
    transferred: Decimal
    failed: int  # transfers Stripe has not (yet) accepted
    refused: int  # transfers Stripe refused for good
    reversal_failed: int  # refunds not (yet) taken back from the producer at Stripe


@dataclass(frozen=True)
class OnlineSplit:
    rows: list[ProducerSplit]
    refusals: list[ProducerTransfer]  # refused by Stripe for good: someone must act
    # Not (yet) made: Stripe failed or could not be reached; tried again by a job.
    failing: list[ProducerTransfer] = ()

    @property
    def share(self) -> Decimal:
        return sum((row.share for row in self.rows), ZERO)

    @property
    def commission(self) -> Decimal:
        return sum((row.commission for row in self.rows), ZERO)

    @property
    def transferred(self) -> Decimal:
        return sum((row.transferred for row in self.rows), ZERO)


def _producer_transfers(distribution: Distribution) -> QuerySet[ProducerTransfer]:
    return ProducerTransfer.objects.filter(
        payment__distribution=distribution, payment__status=PaymentStatus.RECEIVED
    )


_REVERSAL_FAILED = Q(status=ProducerTransferStatus.SENT) & Q(
    reversal_status__in=[TransferReversalStatus.FAILED, TransferReversalStatus.REFUSED]
)


def online_split(distribution: Distribution) -> OnlineSplit:
    """Per producer with a connected account (by id: two may share a name): what the
    online payments sent them, net of what refunds took back."""
    kept = ~Q(status=ProducerTransferStatus.REFUSED)
    rows = (
        _producer_transfers(distribution)
        .order_by()
        .values("producer_id", "producer__name")
        .annotate(
            count=Count("pk"),
            share=money_or_zero(
                Sum(F("share") - F("reversed") - F("reversed_commission"), filter=kept)
            ),
            commission=money_or_zero(Sum(F("commission") - F("reversed_commission"), filter=kept)),
            transferred=money_or_zero(Sum(F("amount") - F("reversed"), filter=kept)),
            failed=Count("pk", filter=Q(status__in=UNSENT)),
            refused=Count("pk", filter=~kept),
            reversal_failed=Count("pk", filter=_REVERSAL_FAILED),
        )
        .order_by("producer__name", "producer_id")
    )
    return OnlineSplit(
        [_split_row(row) for row in rows],
        refused_transfers(distribution),
        failing_transfers(distribution),
    )


def _split_row(row: dict) -> ProducerSplit:
    return ProducerSplit(
        producer_id=row["producer_id"],
        producer=row["producer__name"],
        count=row["count"],
        share=round_cents(Decimal(row["share"])),
        commission=round_cents(Decimal(row["commission"])),
        transferred=round_cents(Decimal(row["transferred"])),
        failed=row["failed"],
        refused=row["refused"],
        reversal_failed=row["reversal_failed"],
    )


def refused_transfers(distribution: Distribution) -> list[ProducerTransfer]:
    """Transfers, or their reversals, that Stripe refused for good, with its reason."""
    refused = Q(status=ProducerTransferStatus.REFUSED) | Q(
        status=ProducerTransferStatus.SENT, reversal_status=TransferReversalStatus.REFUSED
    )
    return list(
        _producer_transfers(distribution)
        .filter(refused)
        .select_related("producer", "payment__order")
        .order_by("pk")
    )


def failing_transfers(distribution: Distribution) -> list[ProducerTransfer]:
    """Transfers, or their reversals, that Stripe failed (or was out of reach for)
    when last asked: tried again by their job, or by « Réessayer »."""
    failing = Q(status=ProducerTransferStatus.FAILED) | Q(
        status=ProducerTransferStatus.SENT, reversal_status=TransferReversalStatus.FAILED
    )
    return list(
        _producer_transfers(distribution)
        .filter(failing)
        .select_related("producer", "payment__order")
        .order_by("pk")
    )


def online_refunded(distribution: Distribution) -> Decimal:
    """What went back to the cards for this distribution's baskets, as the ledger has it."""
    total = refund_entries(distribution, (AccountKind.ONLINE,)).aggregate(
        total=money_or_zero(Sum("amount"))
    )["total"]
    return -total
