"""One reading of the money of orders: received, refunded, still expected, still due.

Every page that says how much a basket received, how much is still due on
it or on a whole distribution reads it here: the distribution page and the
basket page, « Encaissements », « Mes commandes » and the order's emails.
A refund rule therefore changes in one place.

- **received**: the received payments of the order, less the money given back
  for it (cash at the pickup or to the card); a refund later reversed never
  happened and is left out;
- **pending**: the payments still expected (a transfer on its way, say);
- **on_balance**: the order asks for no money at the pickup (paid from the
  balance, « cagnotte », or no method asked at all); **paid** is then the
  whole order, else what it received; **due** is what is still to pay;
- **uncovered**: what no payment, received or expected, covers yet;
  **overpaid**: what was received beyond the total.

May import `payments` (models, methods) and `orders.models`, never
`distributions`: the distribution's figures are sums over its orders.
"""

from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from cagette.money import ZERO
from payments.methods import CAGNOTTE
from payments.models import MONEY, AccountKind, Entry, Payment, PaymentStatus, TransactionKind

from .models import Order

MONEY_FIELD = DecimalField(**MONEY)
# Checkout choices that ask for no money at the pickup: paid from the balance
# (« cagnotte »), or no method asked at all (cagnotte mode, payments not managed).
ON_BALANCE = ["", CAGNOTTE]


def _per_order_sum(queryset, order_field: str):
    """A subquery: the ``amount`` of ``queryset`` summed for the outer order, zero if none."""
    summed = (
        queryset.filter(**{order_field: OuterRef("pk")})
        .order_by()
        .values(order_field)
        .annotate(sum=Sum("amount"))
        .values("sum")
    )
    return Coalesce(
        Subquery(summed, output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD
    )


def refund_client_entries() -> QuerySet[Entry]:
    """The client's side (positive) of each refund tied to an order, reversed ones left out."""
    return Entry.objects.filter(
        account__kind=AccountKind.CLIENT,
        transaction__kind=TransactionKind.REFUND,
        transaction__reversal__isnull=True,
    )


def with_money(orders: QuerySet[Order]) -> QuerySet[Order]:
    """``orders`` annotated with ``received``, ``refunded``, ``pending``, ``on_balance``,
    ``paid`` and ``due`` (see the module's docstring), in the same query."""
    received = _per_order_sum(Payment.objects.filter(status=PaymentStatus.RECEIVED), "order")
    refunded = _per_order_sum(refund_client_entries(), "transaction__order")
    pending = _per_order_sum(Payment.objects.filter(status=PaymentStatus.PENDING), "order")
    return (
        orders.annotate(
            refunded=refunded,
            received=ExpressionWrapper(received - refunded, output_field=MONEY_FIELD),
            pending=pending,
            on_balance=ExpressionWrapper(Q(payment_method__in=ON_BALANCE), BooleanField()),
        )
        .annotate(paid=Case(When(on_balance=True, then=F("total")), default=F("received")))
        .annotate(due=Greatest(F("total") - F("paid"), Value(ZERO), output_field=MONEY_FIELD))
    )


def money_totals(orders: QuerySet[Order], **more) -> dict:
    """Over `with_money` rows, in one query: ``count``, ``amount`` ordered,
    ``received_total`` and ``due_total`` (named apart from the rows' own
    ``received`` and ``due``), and the ``more`` aggregates the caller adds."""
    return orders.aggregate(
        **more,
        count=Count("pk"),
        amount=Coalesce(Sum("total"), Value(ZERO), output_field=MONEY_FIELD),
        received_total=Coalesce(Sum("received"), Value(ZERO), output_field=MONEY_FIELD),
        due_total=Coalesce(Sum("due"), Value(ZERO), output_field=MONEY_FIELD),
    )


def uncovered(order: Order) -> Decimal:
    """On a `with_money` row: what no payment, received or expected, covers yet;
    nothing for an order on the balance."""
    if order.on_balance:
        return ZERO
    return max(order.due - order.pending, ZERO)


def overpaid(order: Order) -> Decimal:
    """On a `with_money` row: what it received beyond its total."""
    return max(order.received - order.total, ZERO)


# -- One order's payments, read in memory -------------------------------------------


def pending_payments(payments) -> list[Payment]:
    """The payments still expected, in the order given."""
    return [p for p in payments if p.status == PaymentStatus.PENDING]


def standing(payments) -> list[Payment]:
    """The payments still counted on: pending or received, not cancelled."""
    return [p for p in payments if p.status != PaymentStatus.CANCELLED]


def replaced(payment: Payment) -> bool:
    """A cancelled online payment the client replaced by another choice."""
    return hasattr(payment, "rechoice")


def counted(payment: Payment) -> bool:
    """The payment stands for part of the order: anything but a cancelled one replaced.

    A payment marked not paid with nothing in its place still counts: « pas
    payé » at the pickup leaves a debt, not a cagnotte payment.
    """
    return payment.status != PaymentStatus.CANCELLED or not replaced(payment)


def counted_unpaid(payment: Payment) -> bool:
    """Counted on and not received: expected, or marked not paid with nothing in its place."""
    return counted(payment) and payment.status != PaymentStatus.RECEIVED


def on_balance_part(order: Order, payments) -> Decimal:
    """What of the order no counted payment stands for: it is paid from the balance."""
    covered = sum((p.amount for p in payments if counted(p)), ZERO)
    return max(order.total - covered, ZERO)
