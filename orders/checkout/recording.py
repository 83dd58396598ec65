"""Recording an order at checkout: the first basket creates it, a later one adds to it.

Each time an order's total changes, the difference is posted as a new
transaction, and, when the market manages payments, a pending `Payment` is
created for what is still to pay; the recap email leaves once committed.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Market, Membership
from cagette.i18n import stored_language
from cagette.money import (
    ZERO,
    format_euros,
)
from payments.ledger import (
    InsufficientBalanceError,
    retried_on_conflict,
)
from payments.methods import CAGNOTTE, PaymentMethod
from payments.models import Transaction, TransactionKind
from payments.services import payment_expect
from payments.stripe.gateway import checkout_accepts

from ..emails import order_recap_queue
from ..models import Order
from .changes import Wanted, post_change, refuse_reductions, set_lines
from .choices import asks_for_payment, checkout_choices, checkout_mode, online_card_minimum_message
from .errors import VALIDATED_MESSAGE, CheckoutError
from .lines import BasketLine, current_lines


def _next_number(market: Market) -> int:
    last = Order.objects.filter(market=market).aggregate(last=Max("number"))["last"]
    return (last or 0) + 1


def _not_covered(error: InsufficientBalanceError, amount: Decimal) -> CheckoutError:
    return CheckoutError(
        _(
            "Votre solde (%(balance)s) ne couvre pas cette commande (%(amount)s) : "
            "créditez votre compte d'abord."
        )
        % {"balance": format_euros(error.available), "amount": format_euros(amount)}
    )


def _checked_choice(market: Market, choice: str) -> str:
    if not asks_for_payment(market):
        return ""
    if choice not in checkout_choices(market):
        raise CheckoutError(_("Choisissez un des moyens de paiement proposés par le marché."))
    return choice


@retried_on_conflict
def order_checkout(
    *,
    membership: Membership,
    distribution,  # a distributions.Distribution, which orders never import
    lines: list[BasketLine],
    choice: str,
    token: str,
    notify: bool = True,
) -> Order:
    """Record the client's basket once they have chosen how to pay.

    A first checkout creates the order; a later one for the same distribution
    changes it (only additions when the market manages payments). The same
    ``token`` (a double click, a resent form) records the basket once: sent
    again, even with another basket, it returns the order it recorded.
    """
    market = membership.market
    if distribution.market_id != market.pk or not distribution.is_open_for_orders():
        raise CheckoutError(_("Les commandes sont closes pour cette distribution."))
    choice = _checked_choice(market, choice)
    key = f"checkout:{distribution.pk}:{membership.pk}:{token}"
    with transaction.atomic():
        market = _lock_market(market)
        replay = Transaction.objects.filter(market=market, idempotency_key=key).first()
        if replay is not None:
            return replay.order
        order = _lock_order(distribution, membership)
        if order is not None and order.validated_at is not None:
            raise CheckoutError(str(VALIDATED_MESSAGE))
        current = current_lines(order)
        wanted = _wanted_from_basket(current, lines)
        if not wanted and order is None:
            raise CheckoutError(_("Votre panier est vide."))
        if order is not None and market.payments_enabled:
            refuse_reductions(current, wanted)
        if order is None:
            order = Order.objects.create(
                market=market,
                distribution=distribution,
                membership=membership,
                number=_next_number(market),
            )
        return _record(
            order, current, wanted, choice=choice, key=key, first=not current, notify=notify
        )


def _lock_market(market: Market) -> Market:
    """One checkout at a time per market: basket numbers stay unique and gapless,
    and a client's two tabs cannot both create the basket.

    FOR NO KEY UPDATE, not FOR UPDATE: inserting any row that points at the
    market (a transaction, a payment) takes FOR KEY SHARE on it. FOR UPDATE
    would make a cheque being recorded for this client (which holds the
    client's account, then inserts a transaction) wait for this checkout,
    which itself waits for that account: a deadlock.
    """
    return Market.objects.select_for_update(no_key=True).get(pk=market.pk)


def _lock_order(distribution, membership: Membership) -> Order | None:
    """The client's basket, read under its row lock, or None.

    `basket_validate` locks the order too: once it has committed, this read
    sees ``validated_at``, so nothing is added to a validated basket. NO KEY,
    for the reason given in `_lock_market`: payments received for this order
    meanwhile (which point at it) need not wait.
    """
    return (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .filter(distribution=distribution, membership=membership)
        .first()
    )


def _wanted_from_basket(current, lines) -> dict[int, Wanted]:
    # A line already ordered keeps the price it was ordered at.
    return {
        line.product.pk: Wanted(
            line.product,
            line.quantity,
            current[line.product.pk].unit_price
            if line.product.pk in current
            else line.product.unit_price,
        )
        for line in lines
    }


def _record(order, current, wanted, *, choice, key, first, notify) -> Order:
    """Post the change and expect its payment.

    The floor (no negative balances) applies to a client who chooses to pay
    with their cagnotte. In the market's cagnotte mode nobody chooses
    (``choice`` is empty): the order goes on the client's account whatever
    it holds, and the admin regularises later, as the mode intends.
    """
    market = order.market
    change = set_lines(order, current, wanted)
    if not change and not first:
        # The same basket sent again: nothing to post, and the method chosen
        # for what was recorded stays.
        return order
    difference = sum(change.values(), ZERO)
    if choice == PaymentMethod.ONLINE_CARD and not checkout_accepts(difference):
        raise CheckoutError(online_card_minimum_message())  # the order and lines rolled back
    floors = choice == CAGNOTTE and not market.allow_negative_balances
    try:
        post_change(
            order,
            change,
            kind=TransactionKind.ORDER,
            label=_order_label(order, first),
            posted_by=order.membership.user,
            key=key,
            floors=floors,
        )
    except InsufficientBalanceError as error:
        raise _not_covered(error, difference) from None
    payment = None
    if choice and choice != CAGNOTTE and difference > 0:
        payment = payment_expect(
            order=order, method=choice, amount=difference, created_by=order.membership.user
        )
    _save_total(order, difference, choice)
    if notify:  # something changed (see above): the client gets the new recap
        added = not first and market.payments_enabled and difference > 0
        _recap_queue(order, choice=choice, amount=difference, payment=payment, added=added)
    return order


def _order_label(order: Order, first: bool) -> str:
    """The ledger's label of an order's posting, in the market's stored language."""
    with stored_language():
        if first:
            label = _("Commande panier n° %(number)s")
        elif order.market.payments_enabled:
            label = _("Complément de commande panier n° %(number)s")
        else:
            label = _("Modification de commande panier n° %(number)s")
        return label % {"number": order.number} + f" ({order.distribution.date:%d/%m/%Y})"


def _save_total(order: Order, difference: Decimal, choice: str) -> None:
    order.total += difference
    order.payment_method = choice
    order.checkout_mode = checkout_mode(order.market)
    order.updated_at = timezone.now()
    order.save(update_fields=["total", "payment_method", "checkout_mode", "updated_at"])


def _recap_queue(order, *, choice, amount, payment, added) -> None:
    """Queued in the order's transaction, sent by a job once it commits."""
    payment_id = payment.pk if payment else None
    order_recap_queue(order.pk, choice=choice, amount=amount, payment_id=payment_id, added=added)
