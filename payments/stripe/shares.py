"""What of an online payment belongs to each producer of the order (no Stripe here).

The rules are told in `payments.stripe.payouts`, which sends the shares;
they live here so they can be read, and tested, on their own.
"""

from collections import defaultdict
from decimal import ROUND_DOWN, Decimal

from django.db.models import Q, Sum

from cagette.money import CENT, ZERO, round_cents

from ..methods import PaymentMethod
from ..models import Payment, PaymentStatus, StripeCheckout

HUNDRED = Decimal("100")


def producer_totals(order) -> dict:
    """Each producer of ``order`` (an `orders.Order`) with their lines total:
    ``{producer: amount}``."""
    totals: dict = defaultdict(lambda: ZERO)
    for line in order.lines.select_related("product__producer"):
        totals[line.product.producer] += line.amount
    return dict(totals)


def shares_of(totals: dict, paid: Decimal) -> dict:
    """What of ``paid`` belongs to each producer, ``totals`` being what each one is owed.

    In proportion, rounded down to the cent: the shares never add up to more
    than ``paid``, nor to more than ``totals`` when ``paid`` covers them all.
    """
    whole = sum(totals.values(), ZERO)
    if whole <= 0 or paid <= 0:
        return {}
    if paid >= whole:
        return {producer: amount for producer, amount in totals.items() if amount > 0}
    shares = {}
    for producer, amount in totals.items():
        share = part_of(amount, paid, whole)
        if share > 0:
            shares[producer] = share
    return shares


def part_of(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``amount × part ÷ whole`` rounded down to the cent; all of it when ``part`` is the whole."""
    if part >= whole:
        return amount
    return (amount * part / whole).quantize(CENT, rounding=ROUND_DOWN)


def commission_of(share: Decimal, percent: Decimal) -> Decimal:
    return round_cents(share * percent / HUNDRED)


def unpaid_before(payment: Payment, totals: dict) -> dict:
    """Each producer's lines total less what the order's earlier online payments went to.

    A complement payment must not pay a producer again for what an earlier
    payment already covered: the earlier payments are split again, in the
    order they were received, by the same rule.
    """
    remaining = {producer: amount for producer, amount in totals.items() if amount > 0}
    for earlier in _earlier_payments(payment):
        for producer, amount in _allocation(earlier, remaining).items():
            if producer in remaining:
                remaining[producer] = max(remaining[producer] - amount, ZERO)
    return remaining


def _earlier_payments(payment: Payment):
    earlier = Payment.objects.filter(
        order_id=payment.order_id,
        method=PaymentMethod.ONLINE_CARD,
        status=PaymentStatus.RECEIVED,
    ).exclude(pk=payment.pk)
    if payment.received_at is not None:
        earlier = earlier.filter(
            Q(received_at__lt=payment.received_at)
            | Q(received_at=payment.received_at, pk__lt=payment.pk)
        )
    return earlier.order_by("received_at", "pk").prefetch_related("producer_transfers__producer")


def _allocation(earlier: Payment, remaining: dict) -> dict:
    """What ``earlier`` went to, per producer: its money kept (less refunds) split over
    ``remaining``, except where a transfer records what a producer was actually given."""
    refunded = StripeCheckout.objects.filter(received_payment=earlier).aggregate(
        total=Sum("refunded")
    )["total"]
    allocated = shares_of(remaining, earlier.amount - (refunded or ZERO))
    for row in earlier.producer_transfers.all():
        allocated[row.producer] = row.share - row.reversed - row.reversed_commission
    return allocated
