"""Distribution day: confirming payments, validating baskets, counting the till.

A basket is validated once the admin has settled what was expected at the
pickup: every payment to be made on site is either received (with the method
actually used) or marked as not paid. Transfers and online payments may still
be on their way; they stay expected. A validated basket is locked.
"""

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    Exists,
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
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership
from cagette.ids import id_from
from cagette.money import ZERO, format_euros
from orders.models import Order
from payments.ledger import retried_on_conflict
from payments.methods import CAGNOTTE, ON_SITE_METHODS, PaymentMethod
from payments.models import AccountKind, Entry, Payment, PaymentStatus, TransactionKind
from payments.services import payment_cancel, payment_receive, payment_record, refund_record

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
            distribution_validate_if_done(order.distribution_id)
    return order


@transaction.atomic
def distribution_validate_if_done(distribution_id: int) -> None:
    """Every basket validated: the distribution is validated, once orders are closed.

    While clients may still order, a basket can be validated (it is then locked
    against additions, and its client's pages say so) but the distribution
    stays open for everyone else.
    """
    distribution = Distribution.objects.select_for_update().get(pk=distribution_id)
    if distribution.status == DistributionStatus.VALIDATED or not distribution.orders_closed:
        return
    orders = distribution.orders
    if orders.exists() and not orders.filter(validated_at__isnull=True).exists():
        distribution.status = DistributionStatus.VALIDATED
        distribution.save(update_fields=["status"])


# -- The basket's payments at the pickup --------------------------------------------


class BasketLocked(Exception):
    """The basket is validated: it changes only by a reversal in the client's history."""


def _lock_open_basket(order: Order) -> Order:
    """Lock the basket, refusing a validated one.

    Every change to a basket takes this lock first, as `basket_validate` and
    `bulk_validate` do: a payment cannot slip in after the basket is locked.
    """
    order = _lock(order)
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
        _lock_open_basket(order)
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
        _lock_open_basket(order)
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
        order = _lock_open_basket(order)
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
        order = _lock_open_basket(order)
        return refund_record(
            membership=order.membership,
            amount=amount,
            refunded_by=refunded_by,
            idempotency_key=idempotency_key,
            order=order,
        )


# -- Validating a whole distribution ----------------------------------------------


@dataclass
class BulkPlan:
    """What "valider les paniers payés comme déclaré" will do, before it does it.

    ``later``: baskets ready but whose cheque numbers are to be typed on the
    next confirmation page, past what one page can send (see `bulk_plan`).
    """

    ready: list[tuple[Order, list[Payment]]] = field(default_factory=list)
    blocked: list[tuple[Order, list[str]]] = field(default_factory=list)
    later: list[Order] = field(default_factory=list)

    @property
    def order_ids(self) -> list[int]:
        return [order.pk for order, _ps in self.ready]

    @property
    def payment_ids(self) -> list[int]:
        return [p.pk for _o, ps in self.ready for p in ps]

    @property
    def to_receive(self) -> Decimal:
        return sum((p.amount for _o, ps in self.ready for p in ps), Decimal("0.00"))

    @property
    def has_cheques_to_number(self) -> bool:
        return any(
            p.method == PaymentMethod.CHEQUE and not p.cheque_number
            for _o, ps in self.ready
            for p in ps
        )


def _bulk_blockers(order: Order, cheques: Mapping[int, tuple[str, str]] | None = None) -> list[str]:
    """Why bulk validation leaves this basket to the admin.

    ``cheques`` maps a cheque payment's id to the (number, bank) typed on the
    confirmation page: a cheque without its number would leave a blank line on
    the remittance slip, and a validated basket can no longer be completed.
    """
    reasons = []
    for payment in _pending(order):
        if payment.method == PaymentMethod.ON_SITE:
            reasons.append(_("moyen de paiement à préciser"))
        elif payment.method == PaymentMethod.TRANSFER:
            reasons.append(_("virement non reçu"))
        elif payment.method == PaymentMethod.ONLINE_CARD:
            reasons.append(_("paiement en ligne non confirmé"))
        elif cheques is not None and payment.method == PaymentMethod.CHEQUE:
            if not (payment.cheque_number or cheques.get(payment.pk, ("", ""))[0]):
                reasons.append(_("numéro de chèque à saisir"))
    return reasons


def _cheques_to_number(payments: list[Payment]) -> int:
    return sum(1 for p in payments if p.method == PaymentMethod.CHEQUE and not p.cheque_number)


def bulk_plan(distribution: Distribution, *, cheque_inputs: int | None = None) -> BulkPlan:
    """The baskets bulk validation would validate, and those left to the admin.

    ``cheque_inputs``: how many cheques one confirmation page may ask the
    number of (each is two fields of the form); a basket past that waits in
    ``later`` for the next page, once the numbers typed are in.
    """
    plan = BulkPlan()
    orders = (
        distribution.orders.filter(validated_at__isnull=True)
        .select_related("membership__user", "distribution")
        .prefetch_related("payments")
        .order_by("number")
    )
    for order in orders:
        reasons = _bulk_blockers(order)
        if reasons:
            plan.blocked.append((order, reasons))
            continue
        payments = _pending(order)
        to_number = _cheques_to_number(payments)
        if cheque_inputs is not None and to_number > cheque_inputs:
            plan.later.append(order)
            cheque_inputs = 0  # in basket order: the next page takes the rest
            continue
        if cheque_inputs is not None:
            cheque_inputs -= to_number
        plan.ready.append((order, payments))
    return plan


def bulk_validate(
    *,
    distribution: Distribution,
    validated_by,
    order_ids: Iterable[int],
    payment_ids: Iterable[int] | None = None,
    cheques: Mapping[int, tuple[str, str]] | None = None,
    until: float | None = None,
) -> BulkPlan:
    """Receive the on-site payments as declared and validate the baskets listed.

    Only ``order_ids``, the baskets the confirmation page showed, are touched:
    one that became ready since (a new order, a method chosen in another tab)
    waits for the next confirmation. ``payment_ids`` are the payments it
    showed: a basket whose expected payments changed since (an addition, say)
    waits too, so no money is taken that the admin did not see. ``cheques``
    gives each cheque's number and bank. Each basket is its own database
    transaction: one that changed meanwhile (a payment confirmed in another
    tab) is taken as it now is.

    ``until``: a `time.monotonic` deadline. Past it, the baskets not reached
    yet are left in ``later`` for another confirmation (each basket validated
    is committed, so stopping between two loses nothing), which keeps one
    request within what a web worker is given.
    """
    listed = set(order_ids)
    shown = None if payment_ids is None else set(payment_ids)
    cheques = cheques or {}
    plan = bulk_plan(distribution)
    done = BulkPlan(blocked=plan.blocked)
    for order, _payments in plan.ready:
        if order.pk not in listed:
            continue
        if until is not None and done.ready and time.monotonic() > until:
            done.later.append(order)
            continue
        outcome = _bulk_validate_one(order, validated_by, shown, cheques)
        if outcome is not None:
            order, reasons, payments = outcome
            if reasons:
                done.blocked.append((order, reasons))
            else:
                done.ready.append((order, payments))
    if done.ready:
        distribution_validate_if_done(distribution.pk)
    return done


@retried_on_conflict
def _bulk_validate_one(order: Order, validated_by, shown, cheques):
    """One basket of `bulk_validate`, in its own database transaction:
    ``(order, reasons it waits, payments received)``, or None if done already."""
    # The basket first, as every change to one basket does (see
    # `_lock_open_basket`): a payment confirmed or marked not paid on the
    # basket page meanwhile is seen here, never raced.
    order = _lock(order)
    if order.validated_at is not None:
        return None
    reasons = _bulk_blockers(order, cheques)
    if shown is not None and not {p.pk for p in _pending(order)} <= shown:
        reasons.append(_("paiement attendu modifié depuis l'affichage"))
    if reasons:
        return order, reasons, []
    payments = [_receive_as_declared(p, validated_by, cheques) for p in _pending(order)]
    basket_validate(order=order, validated_by=validated_by, distribution_check=False)
    return order, [], payments


def _receive_as_declared(payment: Payment, received_by, cheques) -> Payment:
    number, bank = cheques.get(payment.pk, ("", ""))
    number, bank = number or payment.cheque_number, bank or payment.bank
    return payment_receive(
        payment=payment, received_by=received_by, cheque_number=number, bank=bank
    )


def _lock(order: Order) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("membership__user", "membership__market", "distribution")
        .prefetch_related("payments")
        .get(pk=order.pk)
    )


# -- Reading the day: every basket with what is paid and still due -----------------

_MONEY = DecimalField(max_digits=14, decimal_places=2)
# Checkout choices that ask for no money at the pickup: paid from the balance
# (« cagnotte »), or no method asked at all (cagnotte mode, payments not managed).
ON_BALANCE = ["", CAGNOTTE]


def _per_order_sum(queryset, order_field: str, amount_field: str):
    summed = (
        queryset.filter(**{order_field: OuterRef("pk")})
        .order_by()
        .values(order_field)
        .annotate(sum=Sum(amount_field))
        .values("sum")
    )
    return Coalesce(Subquery(summed, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def day_baskets(distribution: Distribution) -> QuerySet[Order]:
    """The baskets of a distribution with, on each, in one query:

    ``received``: money received for it, less cash given back (a reversed
    refund never happened); ``paid``: what counts as paid, the whole basket
    when it is settled on the balance; ``due``: what is still to pay;
    ``is_new``: the client's first order in this market (no lower number).
    """
    received = _per_order_sum(
        Payment.objects.filter(status=PaymentStatus.RECEIVED), "order", "amount"
    )
    refunded = _per_order_sum(
        Entry.objects.filter(
            account__kind=AccountKind.CLIENT,
            transaction__kind=TransactionKind.REFUND,
            transaction__reversal__isnull=True,
        ),
        "transaction__order",
        "amount",
    )
    earlier = Order.objects.filter(
        market=OuterRef("market"), membership=OuterRef("membership"), number__lt=OuterRef("number")
    )
    return (
        Order.objects.filter(distribution=distribution)
        .select_related("membership__user", "membership__account", "validated_by")
        .annotate(
            received=ExpressionWrapper(received - refunded, output_field=_MONEY),
            on_balance=ExpressionWrapper(Q(payment_method__in=ON_BALANCE), BooleanField()),
            is_new=~Exists(earlier),
        )
        .annotate(
            paid=Case(When(on_balance=True, then=F("total")), default=F("received")),
        )
        .annotate(due=Greatest(F("total") - F("paid"), Value(ZERO), output_field=_MONEY))
    )


# The distribution page's filters, on `day_baskets` rows.
DAY_FILTERS = {
    "a-valider": Q(validated_at__isnull=True),
    "impayes": Q(due__gt=0),
    "nouveaux": Q(is_new=True),
}


def day_baskets_search(baskets: QuerySet[Order], text: str) -> QuerySet[Order]:
    """By the client's name or email, or by basket number."""
    text = (text or "").strip()
    number = id_from(text)
    if number is not None:
        return baskets.filter(number=number)
    members = Membership.objects.search(text)
    return baskets.filter(membership__in=members.values("pk")) if text else baskets


def day_totals(baskets: QuerySet[Order]) -> dict:
    """The page's totals and the count behind each filter, in one query."""
    # Named apart from the rows' own ``received`` and ``due``, which the filters read.
    return baskets.aggregate(
        count=Count("pk"),
        amount=Coalesce(Sum("total"), Value(ZERO), output_field=_MONEY),
        received_total=Coalesce(Sum("received"), Value(ZERO), output_field=_MONEY),
        due_total=Coalesce(Sum("due"), Value(ZERO), output_field=_MONEY),
        validated=Count("pk", filter=Q(validated_at__isnull=False)),
        **{slug: Count("pk", filter=condition) for slug, condition in DAY_FILTERS.items()},
    )


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


# -- The market's home page -------------------------------------------------------------


def distributions_to_validate(market, limit: int = 3) -> QuerySet[Distribution]:
    """Distributions whose orders are in and whose baskets still wait, oldest first."""
    return (
        Distribution.objects.filter(market=market)
        .exclude(status=DistributionStatus.VALIDATED)
        .filter(Q(status=DistributionStatus.CLOSED) | Q(orders_close_at__lte=timezone.now()))
        .annotate(
            basket_count=Count("orders"),
            to_validate=Count("orders", filter=Q(orders__validated_at__isnull=True)),
        )
        .filter(to_validate__gt=0)
        .order_by("date", "pk")[:limit]
    )
