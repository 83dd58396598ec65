"""Distribution day: confirming payments, validating baskets, counting the till.

A basket is validated once the admin has settled what was expected at the
pickup: every payment to be made on site is either received (with the method
actually used) or marked as not paid. Transfers and online payments may still
be on their way; they stay expected. A validated basket is locked.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cagette.money import format_euros
from orders.models import Order
from payments.methods import ON_SITE_METHODS, PaymentMethod
from payments.models import Payment, PaymentStatus
from payments.services import payment_receive

from .models import CashCount, Distribution, DistributionStatus

# Paid at the pickup: must be settled before the basket is validated.
SETTLED_AT_PICKUP = {*map(str, ON_SITE_METHODS), PaymentMethod.ON_SITE}


class BasketNotReady(Exception):
    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def _pending(order: Order) -> list[Payment]:
    return [p for p in order.payments.all() if p.status == PaymentStatus.PENDING]


def basket_blockers(order: Order) -> list[str]:
    """What still has to be decided before this basket can be validated."""
    reasons = []
    for payment in _pending(order):
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


def basket_validate(*, order: Order, validated_by) -> Order:
    """Lock the basket once the pickup is settled; idempotent."""
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
        _close_distribution_if_done(order.distribution_id)
    return order


def _close_distribution_if_done(distribution_id: int) -> None:
    distribution = Distribution.objects.select_for_update().get(pk=distribution_id)
    if distribution.status == DistributionStatus.VALIDATED:
        return
    if not distribution.orders.filter(validated_at__isnull=True).exists():
        distribution.status = DistributionStatus.VALIDATED
        distribution.save(update_fields=["status"])


# -- Validating a whole distribution ----------------------------------------------


@dataclass
class BulkPlan:
    """What "valider les paniers payés comme déclaré" will do, before it does it."""

    ready: list[tuple[Order, list[Payment]]] = field(default_factory=list)
    blocked: list[tuple[Order, list[str]]] = field(default_factory=list)

    @property
    def to_receive(self) -> Decimal:
        return sum((p.amount for _o, ps in self.ready for p in ps), Decimal("0.00"))


def _bulk_blockers(order: Order) -> list[str]:
    reasons = []
    for payment in _pending(order):
        if payment.method == PaymentMethod.ON_SITE:
            reasons.append(_("moyen de paiement à préciser"))
        elif payment.method == PaymentMethod.TRANSFER:
            reasons.append(_("virement non reçu"))
        elif payment.method == PaymentMethod.ONLINE_CARD:
            reasons.append(_("paiement en ligne non confirmé"))
    return reasons


def bulk_plan(distribution: Distribution) -> BulkPlan:
    plan = BulkPlan()
    orders = (
        distribution.orders.filter(validated_at__isnull=True)
        .select_related("membership__user")
        .prefetch_related("payments")
        .order_by("number")
    )
    for order in orders:
        reasons = _bulk_blockers(order)
        if reasons:
            plan.blocked.append((order, reasons))
        else:
            plan.ready.append((order, _pending(order)))
    return plan


def bulk_validate(*, distribution: Distribution, validated_by) -> BulkPlan:
    """Receive every on-site payment as declared and validate those baskets.

    Each basket is its own database transaction: one that changed meanwhile
    (a payment confirmed in another tab) is simply taken as it now is.
    """
    plan = bulk_plan(distribution)
    for order, payments in plan.ready:
        with transaction.atomic():
            for payment in payments:
                payment_receive(payment=payment, received_by=validated_by)
            basket_validate(order=order, validated_by=validated_by)
    return plan


# -- The till --------------------------------------------------------------------


def cash_count_record(
    *,
    distribution: Distribution,
    counted_by,
    opening_float: Decimal | None = None,
    counted: Decimal | None = None,
) -> CashCount:
    with transaction.atomic():
        count, _created = CashCount.objects.select_for_update().get_or_create(
            distribution=distribution
        )
        if opening_float is not None:
            count.opening_float = opening_float
        if counted is not None:
            count.counted = counted
        count.updated_by = counted_by
        count.updated_at = timezone.now()
        count.save()
    return count
