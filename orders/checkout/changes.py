"""What changing an order's lines posts: the lines set to what is wanted, and the
difference posted to the ledger (client debited, each producer's sales credited).

Shared by checkout (`orders.checkout.recording`) and an admin's adjustment
(`orders.checkout.adjusting`); `basket_check` refuses early what checkout would.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.models import Market
from cagette.money import ZERO
from payments.ledger import (
    Leg,
    client_account,
    sales_account,
    transaction_post,
)

from ..models import Order, OrderLine, Product
from .errors import VALIDATED_MESSAGE, CheckoutError
from .lines import BasketLine, current_lines, refuse_free_line


@dataclass(frozen=True)
class Wanted:
    product: Product
    quantity: Decimal
    unit_price: Decimal


def set_lines(order: Order, current: dict[int, OrderLine], wanted: dict[int, Wanted]):
    """Make the order's lines match ``wanted``; return the change per producer."""
    for want in wanted.values():  # before any write: no line, hence no order, at 0,00 €
        refuse_free_line(want.product, want.quantity, want.unit_price)
    change: dict = defaultdict(Decimal)
    for product_id, line in current.items():
        change[line.product.producer] -= line.amount
        if product_id not in wanted:
            line.delete()
    for product_id, want in wanted.items():
        line = current.get(product_id) or OrderLine(order=order, product=want.product)
        line.quantity, line.unit_price = want.quantity, want.unit_price
        line.save()
        change[want.product.producer] += line.amount
    return {producer: amount for producer, amount in change.items() if amount}


def post_change(order, change, *, kind, label, posted_by, key, floors=False, reason=""):
    """Post the change of an order's total: client debited, producers' sales credited."""
    total = sum(change.values(), ZERO)
    client = client_account(order.membership)
    legs = [
        Leg(sales_account(order.market, producer), -amount) for producer, amount in change.items()
    ]
    if total:
        legs.append(Leg(client, total))
    if len(legs) < 2:
        return None
    txn, _created = transaction_post(
        market=order.market,
        kind=kind,
        label=label,
        legs=legs,
        posted_by=posted_by,
        idempotency_key=key,
        floors={client: ZERO} if floors else None,
        order=order,
        reason=reason,
    )
    return txn


def refuse_reductions(current: dict[int, OrderLine], wanted: dict[int, Wanted]) -> None:
    for product_id, line in current.items():
        if product_id not in wanted or wanted[product_id].quantity < line.quantity:
            raise CheckoutError(
                _(
                    "Votre commande est enregistrée : vous pouvez ajouter des produits, "
                    "mais pas retirer %(product)s ni en diminuer la quantité."
                )
                % {"product": line.product.name}
            )


def basket_check(*, market: Market, order: Order | None, lines: list[BasketLine]) -> None:
    """Refuse at once a basket that checkout would refuse (a recorded order only grows,
    and a validated one no longer changes)."""
    if order is not None and order.is_validated:
        raise CheckoutError(str(VALIDATED_MESSAGE))
    if order is not None and market.payments_enabled:
        refuse_reductions(current_lines(order), {line.product.pk: line for line in lines})
