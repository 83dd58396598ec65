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

Which payments and refunds count is written once, in the view behind
`orders.models.OrderMoney` (received and expected payments, refunds not
reversed); the figures above are built here from its sums.

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
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Greatest

from cagette.money import ZERO
from payments.methods import CAGNOTTE
from payments.models import MONEY, Payment, PaymentStatus

from .models import Order

MONEY_FIELD = DecimalField(**MONEY)
# Checkout choices that ask for no money at the pickup: paid from the balance
# (« cagnotte »), or no method asked at all (cagnotte mode, payments not managed).
ON_BALANCE = ["", CAGNOTTE]


def with_money(orders: QuerySet[Order]) -> QuerySet[Order]:
    """``orders`` annotated with ``received``, ``refunded``, ``pending``, ``on_balance``,
    ``paid`` and ``due`` (see the module's docstring), in the same query.

    The sums come from `OrderMoney`, joined once: each is aggregated once per
    order, however many figures read it (``paid`` and ``due`` are read from
    ``received``)."""
    received = F("money__received") - F("money__refunded")
    on_balance = Q(payment_method__in=ON_BALANCE)
    paid = Case(When(on_balance, then=F("total")), default=received, output_field=MONEY_FIELD)
    return orders.annotate(
        refunded=F("money__refunded"),
        received=ExpressionWrapper(received, output_field=MONEY_FIELD),
        pending=F("money__pending"),
        on_balance=ExpressionWrapper(on_balance, BooleanField()),
        paid=paid,
        due=Greatest(F("total") - paid, Value(ZERO), output_field=MONEY_FIELD),
    )


def _aggregates(more: dict) -> dict:
    """The aggregates of `money_totals`, by name (sums without their zero)."""
    return {
        **more,
        "count": Count("pk"),
        "amount": Sum("total"),
        "received_total": Sum("received"),
        "due_total": Sum("due"),
    }


SUMS = ("amount", "received_total", "due_total")
# Prefix of the totals `with_money_totals` puts on each row.
TOTAL_OF_ALL = "all_"


def money_totals(orders: QuerySet[Order], **more) -> dict:
    """Over `with_money` rows, in one query: ``count``, ``amount`` ordered,
    ``received_total`` and ``due_total`` (named apart from the rows' own
    ``received`` and ``due``), and the ``more`` aggregates the caller adds."""
    aggregates = _aggregates(more)
    for name in SUMS:
        aggregates[name] = Coalesce(aggregates[name], Value(ZERO), output_field=MONEY_FIELD)
    return orders.aggregate(**aggregates)


def with_money_totals(orders: QuerySet[Order], **more) -> QuerySet[Order]:
    """`with_money` rows each carrying the `money_totals` of them all, as window
    aggregates of the same query: a page listing every row reads its totals with
    them (`money_totals_read`) instead of a second pass over the same rows."""
    windows = {TOTAL_OF_ALL + name: Window(agg) for name, agg in _aggregates(more).items()}
    return orders.annotate(**windows)


def money_totals_read(rows: list[Order], **more) -> dict:
    """`money_totals` of ``rows``, every row of a `with_money_totals` query."""
    names = _aggregates(more)
    if not rows:
        return {name: ZERO if name in SUMS else 0 for name in names}
    return {name: getattr(rows[0], TOTAL_OF_ALL + name) for name in names}


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
