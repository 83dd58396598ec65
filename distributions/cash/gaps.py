"""Baskets not paid as ordered: unpaid, paid in part, overpaid.

The money is read by `orders.money.with_money`, as on the distribution page.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from orders.models import Order
from orders.money import ON_BALANCE, with_money

from ..models import Distribution


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


def basket_gaps(distribution: Distribution) -> list[BasketGap]:
    """Baskets whose received money differs from their total, by basket number.

    A basket paid from the balance (or in a market where no method is asked)
    is settled on the client's account, not at the pickup: it is never listed.
    The money is read by `orders.money.with_money`, as on the distribution page.
    """
    orders = (
        with_money(Order.objects.filter(distribution=distribution))
        .filter(on_balance=False)
        .select_related("membership__user")
        .order_by("number")
    )
    gaps = map(_basket_gap, orders)
    return [gap for gap in gaps if gap.difference]


def _basket_gap(order: Order) -> BasketGap:
    return BasketGap(
        order_id=order.pk,
        number=order.number,
        client=order.membership.user.display_name,
        membership_id=order.membership_id,
        total=order.total,
        received=order.received,
        pending=order.pending,
    )


def settled_on_balance_count(distribution: Distribution) -> int:
    return distribution.orders.filter(payment_method__in=ON_BALANCE).count()
