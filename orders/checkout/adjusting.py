"""An admin adjusts an order (a missing product, a price fixed at the pickup).

The difference is posted with its reason, and the payments still expected
follow the new total; received money is never touched.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cagette.i18n import stored_language
from cagette.money import ZERO
from payments.ledger import (
    retried_on_conflict,
)
from payments.methods import ON_SITE_METHODS, PaymentMethod
from payments.models import Payment, PaymentStatus, Transaction, TransactionKind
from payments.services import payment_cancel

from ..models import Order
from .changes import Wanted, post_change, set_lines
from .errors import CheckoutError
from .lines import current_lines


@retried_on_conflict
def order_adjust(
    *,
    order: Order,
    wanted: list[Wanted],
    reason: str,
    adjusted_by,
    token: str,
) -> Transaction | None:
    """An admin changes an order (missing product, price fixed at pickup).

    The difference is posted as an order adjustment with its reason; the
    lines are set to ``wanted`` (a line left out is removed), and the payment
    still expected follows the new total (`_follow_expected_payments`). A
    validated basket is corrected the same way: the adjustment is itself the
    correcting entry, with its reason, in the client's history.
    """
    if not reason.strip():
        raise CheckoutError(_("Indiquez la raison de la modification."))
    key = f"adjust:{order.pk}:{token}"
    with transaction.atomic():
        order = _lock_for_adjustment(order)
        replay = Transaction.objects.filter(market=order.market, idempotency_key=key).first()
        if replay is not None:
            return replay
        # The order, then its expected payments, then (in the ledger) the
        # accounts: the order ahead of the payment, as every flow takes them.
        expected = _expected_payments(order)
        current = current_lines(order)
        before = {pk: (line.quantity, line.unit_price) for pk, line in current.items()}
        wanted_by_product = {w.product.pk: w for w in wanted}
        change = set_lines(order, current, wanted_by_product)
        if not change and order.validated_at is not None:
            _refuse_silent_rewrite(before, wanted_by_product)
        with stored_language():
            label = _("Ajustement de commande panier n° %(number)s") % {"number": order.number}
        txn = post_change(
            order,
            change,
            kind=TransactionKind.ORDER_ADJUSTMENT,
            label=label,
            posted_by=adjusted_by,
            key=key,
            reason=reason.strip(),
        )
        difference = sum(change.values(), ZERO)
        order.total += difference
        order.updated_at = timezone.now()
        order.save(update_fields=["total", "updated_at"])
        _follow_expected_payments(expected, difference, adjusted_by)
    return txn


def _lock_for_adjustment(order: Order) -> Order:
    """The order's row only (not the market's and distribution's joined rows), and
    NO KEY, as in `_lock_order`."""
    return (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("market", "distribution")
        .get(pk=order.pk)
    )


def _refuse_silent_rewrite(before: dict[int, tuple], wanted: dict[int, Wanted]) -> None:
    """A validated basket changes only by an entry in the history: lines that change
    without moving any amount would leave no trace, so they are refused."""
    after = {pk: (want.quantity, want.unit_price) for pk, want in wanted.items()}
    if before != after:
        raise CheckoutError(
            _(
                "Ce panier est validé : une modification qui ne change aucun montant "
                "ne laisserait pas de trace, elle n'est pas enregistrée."
            )
        )


# Expected payments whose amount can still change: not the online ones, whose
# Stripe session was opened for a fixed amount.
ADJUSTABLE = [*map(str, ON_SITE_METHODS), PaymentMethod.ON_SITE, PaymentMethod.TRANSFER]


def _expected_payments(order: Order) -> list[Payment]:
    """The payments still expected whose amount may follow the order, latest first, locked."""
    return list(
        order.payments.select_for_update()
        .filter(status=PaymentStatus.PENDING, method__in=ADJUSTABLE)
        .order_by("-pk")
    )


def _follow_expected_payments(pending: list[Payment], difference: Decimal, adjusted_by) -> None:
    """Make the payments still expected for the order add up to its new total.

    A missing product lowers the latest expected payments (cancelling one that
    falls to zero), so the till does not wait for money nobody owes; a price
    fixed higher at the pickup raises the latest one. Received money is never
    touched: any difference stays on the client's balance.
    """
    if not pending or not difference:
        return
    if difference > 0:
        latest = pending[0]
        latest.amount += difference
        latest.save(update_fields=["amount"])
        return
    to_remove = -difference
    for payment in pending:
        if to_remove <= 0:
            break
        cut = min(payment.amount, to_remove)
        to_remove -= cut
        if cut == payment.amount:
            payment_cancel(payment=payment, cancelled_by=adjusted_by)
        else:
            payment.amount -= cut
            payment.save(update_fields=["amount"])
