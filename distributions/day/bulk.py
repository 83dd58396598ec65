"""« Valider les paniers payés comme déclaré »: what it will do, then doing it,
in chunks of baskets, one database transaction per chunk.
"""

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from cagette.money import ZERO
from orders.models import Order
from payments.ledger import retried_on_conflict
from payments.methods import PaymentMethod
from payments.models import Payment, PaymentStatus
from payments.services import payments_receive

from ..models import Distribution
from ..status import distribution_validate_if_done
from .pickup import basket_pending, baskets_validate, lock_baskets

# Baskets validated per database transaction. The first chunk is one basket
# and each next one twice the last, up to CHUNK: a confirmation short of time
# (see `bulk_validate`'s ``until``) still commits its first baskets early,
# and a big day is posted a hundred baskets per round trip.
CHUNK = 100


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
        return sum((p.amount for _o, ps in self.ready for p in ps), ZERO)

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
    for payment in basket_pending(order):
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
        payments = basket_pending(order)
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
    gives each cheque's number and bank. Each chunk of baskets (see `CHUNK`)
    is its own database transaction: a basket that changed meanwhile (a
    payment confirmed in another tab) is taken as it now is.

    ``until``: a `time.monotonic` deadline. Past it, the baskets not reached
    yet are left in ``later`` for another confirmation (each chunk validated
    is committed, so stopping between two loses nothing), which keeps one
    request within what a web worker is given.
    """
    listed = set(order_ids)
    shown = None if payment_ids is None else set(payment_ids)
    cheques = cheques or {}
    plan = bulk_plan(distribution)
    done = BulkPlan(blocked=plan.blocked)
    waiting = [order for order, _payments in plan.ready if order.pk in listed]
    size = 1
    while waiting:
        if until is not None and done.ready and time.monotonic() > until:
            done.later += waiting
            break
        chunk, waiting = waiting[:size], waiting[size:]
        for order, reasons, payments in _bulk_validate_chunk(chunk, validated_by, shown, cheques):
            if reasons:
                done.blocked.append((order, reasons))
            else:
                done.ready.append((order, payments))
        size = min(2 * size, CHUNK)
    if done.ready:
        distribution_validate_if_done(distribution.pk, validated_by=validated_by)
    return done


@retried_on_conflict
def _bulk_validate_chunk(orders: list[Order], validated_by, shown, cheques) -> list:
    """Baskets of `bulk_validate` in one database transaction: for each,
    ``(order, reasons it waits, payments received)``; one done already is left out."""
    # The baskets first, as every change to one basket does (see
    # `lock_open_basket`): a payment confirmed or marked not paid on the
    # basket page meanwhile is seen here, never raced.
    outcomes = {}
    for order in lock_baskets([order.pk for order in orders]):
        if order.validated_at is not None:
            continue
        reasons = _bulk_blockers(order, cheques)
        if shown is not None and not {p.pk for p in basket_pending(order)} <= shown:
            reasons.append(_("paiement attendu modifié depuis l'affichage"))
        outcomes[order.pk] = (order, reasons, basket_pending(order))
    ready = [pk for pk, (_o, reasons, _ps) in outcomes.items() if not reasons]
    to_receive = [p for pk in ready for p in outcomes[pk][2]]
    received = payments_receive(payments=to_receive, received_by=validated_by, cheques=cheques)
    baskets_validate(order_ids=ready, validated_by=validated_by)
    received = {p.pk: p for p in received if p.status == PaymentStatus.RECEIVED}
    for pk in ready:
        order, _reasons, payments = outcomes[pk]
        outcomes[pk] = (order, [], [received[p.pk] for p in payments if p.pk in received])
    return [outcomes[order.pk] for order in orders if order.pk in outcomes]
