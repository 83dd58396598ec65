"""A basket at the pickup: its expected payments received or marked not paid,
money added or given back, and its validation.

A basket is validated once the admin has settled what was expected at the
pickup: every payment to be made on site is either received (with the method
actually used) or marked as not paid. Transfers and online payments may still
be on their way; they stay expected. A validated basket is locked: every
change to a basket takes its lock first (`lock_open_basket`), so a payment
cannot slip in after it is validated.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cagette.money import format_euros
from orders.models import Order
from orders.money import pending_payments
from payments.ledger import retried_on_conflict
from payments.methods import ON_SITE_METHODS, PaymentMethod
from payments.models import Payment
from payments.services import payment_cancel, payment_receive, payment_record, refund_record

from ..status import distribution_validate_if_done

# Paid at the pickup: must be settled before the basket is validated.
SETTLED_AT_PICKUP = {*map(str, ON_SITE_METHODS), PaymentMethod.ON_SITE}


class BasketNotReady(Exception):
    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def basket_pending(order: Order) -> list[Payment]:
    return pending_payments(order.payments.all())


def basket_blockers(order: Order) -> list[str]:
    """What still has to be decided before this basket can be validated."""
    reasons = []
    for payment in basket_pending(order):
        if payment.method == PaymentMethod.ON_SITE:
            reasons.append(
                _("Choisissez le moyen de paiement utilisé (%(amount)s à régler sur place).")
                % {"amount": format_euros(payment.amount)}
            )
        elif payment.method in SETTLED_AT_PICKUP:
            reasons.append(
                _(
                    "Encaissez le paiement attendu (%(method)s, %(amount)s) "
                    "ou indiquez qu'il n'a pas été payé."
                )
                % {
                    "method": payment.get_method_display().lower(),
                    "amount": format_euros(payment.amount),
                }
            )
    return reasons


@retried_on_conflict
def basket_validate(*, order: Order, validated_by, distribution_check: bool = True) -> Order:
    """Lock the basket once the pickup is settled; idempotent.

    ``distribution_check=False``: the caller validates many baskets and checks
    the distribution once, at the end (`bulk_validate`).
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.validated_at is not None:
            return order
        reasons = basket_blockers(order)
        if reasons:
            raise BasketNotReady(reasons)
        order.validated_at = timezone.now()
        order.validated_by = validated_by
        order.save(update_fields=["validated_at", "validated_by"])
        if distribution_check:
            distribution_validate_if_done(order.distribution_id, validated_by=validated_by)
    return order


def baskets_validate(*, order_ids: list[int], validated_by) -> None:
    """Validate many baskets at once, as `basket_validate` does each, in one UPDATE
    (`bulk_validate`): the caller holds their locks (`lock_baskets`) and has
    settled their pickup, which is read again here, as the baskets now are."""
    if not order_ids:
        return
    for order in lock_baskets(order_ids):
        reasons = basket_blockers(order)
        if reasons:
            raise BasketNotReady(reasons)
    Order.objects.filter(pk__in=order_ids, validated_at=None).update(
        validated_at=timezone.now(), validated_by=validated_by
    )


class BasketLocked(Exception):
    """The basket is validated: it changes only by a reversal in the client's history."""


def lock_open_basket(order: Order) -> Order:
    """Lock the basket, refusing a validated one.

    Every change to a basket takes this lock first, as `basket_validate` and
    `bulk_validate` do: a payment cannot slip in after the basket is locked.
    """
    order = lock_basket(order)
    if order.validated_at is not None:
        raise BasketLocked(order.pk)
    return order


@retried_on_conflict
def basket_payment_receive(
    *,
    order: Order,
    payment: Payment,
    received_by,
    method: str,
    amount: Decimal,
    cheque_number: str = "",
    bank: str = "",
) -> Payment:
    """Confirm an expected payment of an open basket with what was actually paid."""
    with transaction.atomic():
        lock_open_basket(order)
        return payment_receive(
            payment=payment,
            received_by=received_by,
            method=method,
            amount=amount,
            cheque_number=cheque_number,
            bank=bank,
        )


@retried_on_conflict
def basket_payment_cancel(*, order: Order, payment: Payment, cancelled_by) -> Payment:
    """« Non payé »: the expected payment will not come; the debt stays on the balance."""
    with transaction.atomic():
        lock_open_basket(order)
        return payment_cancel(payment=payment, cancelled_by=cancelled_by)


@retried_on_conflict
def basket_payment_add(
    *,
    order: Order,
    recorded_by,
    method: str,
    amount: Decimal,
    idempotency_key: str,
    cheque_number: str = "",
    bank: str = "",
) -> Payment:
    """Money received for this basket beyond what was expected (half cash, half cheque)."""
    with transaction.atomic():
        order = lock_open_basket(order)
        return payment_record(
            membership=order.membership,
            order=order,
            method=method,
            amount=amount,
            cheque_number=cheque_number,
            bank=bank,
            recorded_by=recorded_by,
            idempotency_key=idempotency_key,
        )


@retried_on_conflict
def basket_refund(*, order: Order, amount: Decimal, refunded_by, idempotency_key: str):
    """« Rendre la monnaie »: cash given back from the client's credit.

    Raises `payments.ledger.InsufficientBalanceError` past what the client holds.
    """
    with transaction.atomic():
        order = lock_open_basket(order)
        return refund_record(
            membership=order.membership,
            amount=amount,
            refunded_by=refunded_by,
            idempotency_key=idempotency_key,
            order=order,
        )


def lock_basket(order: Order) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("membership__user", "membership__market", "distribution")
        .prefetch_related("payments")
        .get(pk=order.pk)
    )


def lock_baskets(order_ids: list[int]) -> list[Order]:
    """Lock many baskets at once, in id order (so two of these never wait on each
    other in a cycle), each read with its payments."""
    return list(
        Order.objects.select_for_update(of=("self",))
        .filter(pk__in=order_ids)
        .select_related("membership__user", "membership__market", "distribution")
        .prefetch_related("payments")
        .order_by("pk")
    )
