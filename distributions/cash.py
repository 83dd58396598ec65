"""« Encaissements »: what one distribution brought in, read for the page and its exports.

Every figure counts received payments only (``Payment.status == received``):
those are exactly the payments posted to the ledger, each debiting the money
account of its method (`payments.models.METHOD_ACCOUNT`). Money given back
(cash at the pickup, or to the card for an online payment) is a refund
transaction crediting the cash box or the online-payments account, tied to a
basket of this distribution; a refund later reversed never happened and is
left out.

Each read is one query whatever the number of payments: the page costs the
same for ten baskets or five hundred.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from cagette.money import ZERO, round_cents
from orders.models import Order
from payments.methods import CAGNOTTE, PaymentMethod
from payments.models import (
    METHOD_ACCOUNT,
    MONEY,
    AccountKind,
    Entry,
    Payment,
    PaymentStatus,
    ProducerTransfer,
    ProducerTransferStatus,
    TransactionKind,
    TransferReversalStatus,
)
from payments.stripe.payout_sending import UNSENT

from .models import CashCount, Distribution

# Every method that brings money in, each with its money account in the ledger.
METHODS = list(METHOD_ACCOUNT)
# Checkout choices that ask for no money at the pickup: paid from the balance,
# or no method asked at all (cagnotte mode, payments not managed).
SETTLED_ON_BALANCE = ["", CAGNOTTE]


def _money(expression):
    return Coalesce(expression, Value(ZERO), output_field=DecimalField(**MONEY))


# -- The queries --------------------------------------------------------------------


def received_payments(distribution: Distribution) -> QuerySet[Payment]:
    return Payment.objects.filter(distribution=distribution, status=PaymentStatus.RECEIVED)


# Money given back for a basket leaves one of these accounts: the till, or
# Stripe (a refund to the client's card).
REFUND_ACCOUNTS = (AccountKind.CASH, AccountKind.ONLINE)


def refund_entries(
    distribution: Distribution, kinds: tuple[str, ...] = REFUND_ACCOUNTS
) -> QuerySet[Entry]:
    """The money account's side (negative) of each refund made for a basket of this
    distribution, in cash or to the card; a refund later reversed never happened."""
    return Entry.objects.filter(
        account__kind__in=kinds,
        transaction__kind=TransactionKind.REFUND,
        transaction__order__distribution=distribution,
        transaction__reversal__isnull=True,
    )


def cash_refund_entries(distribution: Distribution) -> QuerySet[Entry]:
    """The cash box's side of each cash refund made for a basket of this distribution."""
    return refund_entries(distribution, (AccountKind.CASH,))


# -- Totals per method -----------------------------------------------------------------


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


# -- The till ---------------------------------------------------------------------------


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
        total=_money(Sum("amount")), count=Count("pk")
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


# -- Cheques and transfers ----------------------------------------------------------------


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


# -- Baskets not paid as ordered ------------------------------------------------------------


@dataclass(frozen=True)
class BasketState:
    slug: str
    label: str
    badge: str


UNPAID = BasketState("unpaid", _("Impayé"), "text-bg-danger")
PARTIAL = BasketState("partial", _("Payé en partie"), "text-bg-warning")
OVERPAID = BasketState("overpaid", _("Trop payé"), "text-bg-info")


@dataclass(frozen=True)
class BasketGap:
    order_id: int
    number: int
    client: str
    membership_id: int
    total: Decimal
    received: Decimal  # net of what was given back for this basket (cash or card)
    pending: Decimal  # still expected (a transfer on its way, say)

    @property
    def difference(self) -> Decimal:
        """Received minus due: negative is still owed, positive is on the client's balance."""
        return self.received - self.total

    @property
    def state(self) -> BasketState:
        if self.received > self.total:
            return OVERPAID
        return PARTIAL if self.received > 0 else UNPAID


def _sum_per_order(queryset, order_field: str):
    """A subquery: the ``amount`` of ``queryset`` summed for the outer order."""
    summed = (
        queryset.filter(**{order_field: OuterRef("pk")})
        .order_by()
        .values(order_field)
        .annotate(sum=Sum("amount"))
        .values("sum")
    )
    return _money(Subquery(summed))


def basket_gaps(distribution: Distribution) -> list[BasketGap]:
    """Baskets whose received money differs from their total, by basket number.

    A basket paid from the balance (or in a market where no method is asked)
    is settled on the client's account, not at the pickup: it is never listed.
    """
    received = Payment.objects.filter(status=PaymentStatus.RECEIVED)
    pending = Payment.objects.filter(status=PaymentStatus.PENDING)
    refunds = refund_entries(distribution)  # entries are negative: they add up
    orders = (
        Order.objects.filter(distribution=distribution)
        .exclude(payment_method__in=SETTLED_ON_BALANCE)
        .annotate(
            paid=_sum_per_order(received, "order") + _sum_per_order(refunds, "transaction__order"),
            expected=_sum_per_order(pending, "order"),
        )
        .select_related("membership__user")
        .order_by("number")
    )
    # Compared here, on the amounts rounded to the cent: SQLite sums in floats.
    gaps = map(_basket_gap, orders)
    return [gap for gap in gaps if gap.difference]


def _basket_gap(order: Order) -> BasketGap:
    return BasketGap(
        order_id=order.pk,
        number=order.number,
        client=order.membership.user.display_name,
        membership_id=order.membership_id,
        total=order.total,
        received=order.paid,
        pending=order.expected,
    )


def settled_on_balance_count(distribution: Distribution) -> int:
    return distribution.orders.filter(payment_method__in=SETTLED_ON_BALANCE).count()


# -- Online payments split between producers ---------------------------------------------


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
            share=_money(Sum(F("share") - F("reversed") - F("reversed_commission"), filter=kept)),
            commission=_money(Sum(F("commission") - F("reversed_commission"), filter=kept)),
            transferred=_money(Sum(F("amount") - F("reversed"), filter=kept)),
            failed=Count("pk", filter=Q(status__in=UNSENT)),
            refused=Count("pk", filter=~kept),
            reversal_failed=Count("pk", filter=_REVERSAL_FAILED),
        )
        .order_by("producer__name", "producer_id")
    )
    return OnlineSplit([_split_row(row) for row in rows], refused_transfers(distribution))


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


def online_refunded(distribution: Distribution) -> Decimal:
    """What went back to the cards for this distribution's baskets, as the ledger has it."""
    total = refund_entries(distribution, (AccountKind.ONLINE,)).aggregate(
        total=_money(Sum("amount"))
    )["total"]
    return -total


# -- The whole page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CashSummary:
    distribution: Distribution
    methods: dict[str, MethodTotal]
    till: Till
    cheques: list[Payment]
    transfers: list[Payment]
    gaps: list[BasketGap]
    settled_on_balance: int
    split: OnlineSplit
    online_refunded: Decimal

    @property
    def method_rows(self) -> list[MethodTotal]:
        return [self.methods[m.value] for m in METHODS]

    @property
    def total_received(self) -> Decimal:
        return sum((t.total for t in self.methods.values()), ZERO)

    @property
    def count_received(self) -> int:
        return sum(t.count for t in self.methods.values())

    @property
    def cheque(self) -> MethodTotal:
        return self.methods[PaymentMethod.CHEQUE.value]

    @property
    def transfer(self) -> MethodTotal:
        return self.methods[PaymentMethod.TRANSFER.value]

    @property
    def card_terminal(self) -> MethodTotal:
        return self.methods[PaymentMethod.CARD_TERMINAL.value]

    @property
    def online(self) -> MethodTotal:
        return self.methods[PaymentMethod.ONLINE_CARD.value]

    @property
    def given_back(self) -> Decimal:
        """Cash given back at the pickup and refunds to the cards, as a positive amount."""
        return self.till.cash_out + self.online_refunded

    @property
    def net_received(self) -> Decimal:
        """What the distribution brought in, net of what went back: the distribution
        page's « Reçu »."""
        return self.total_received - self.given_back

    @property
    def online_net(self) -> Decimal:
        """Received online, less what went back to the cards: what Stripe pays out."""
        return self.online.total - self.online_refunded

    @property
    def online_kept(self) -> Decimal:
        """Of the online payments, what stays with the market (its commission included):
        received, less what went back to the cards and what the producers keep."""
        return self.online_net - self.split.transferred

    def gaps_in(self, state: BasketState) -> list[BasketGap]:
        return [gap for gap in self.gaps if gap.state == state]

    @property
    def unpaid(self) -> list[BasketGap]:
        return self.gaps_in(UNPAID)

    @property
    def partial(self) -> list[BasketGap]:
        return self.gaps_in(PARTIAL)

    @property
    def overpaid(self) -> list[BasketGap]:
        return self.gaps_in(OVERPAID)


def summary_read(distribution: Distribution) -> CashSummary:
    methods = method_totals(distribution)
    return CashSummary(
        distribution=distribution,
        methods=methods,
        till=till_read(distribution, methods[PaymentMethod.CASH.value].total),
        cheques=payments_by(distribution, PaymentMethod.CHEQUE),
        transfers=payments_by(distribution, PaymentMethod.TRANSFER),
        gaps=basket_gaps(distribution),
        settled_on_balance=settled_on_balance_count(distribution),
        split=online_split(distribution),
        online_refunded=online_refunded(distribution),
    )


# -- The export lines --------------------------------------------------------------------------


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
