"""Refunds of online card payments, asked from the basket page.

An admin asks (`refund_request`): the request is recorded (« en attente de
Stripe »), with an idempotency key made from the form's one-time token, and
its job (``refund_send``, `payments.tasks`) deferred in the same transaction;
nothing is posted yet and Stripe is not called from the page. The job
(`refund_deliver`) looks first at the refunds Stripe made on the payment, then
sends the request with that key. When Stripe's answer is lost (a timeout, a
5xx: it may have made the refund), the request stays « réponse de Stripe
attendue »: it still counts as asked, so it cannot be asked twice, and the
queue tries the job again later, for a day (then ``manage.py
stripe_reconcile`` sends it again with the same key, `refund_resend`). Only a
4xx, Stripe saying it did nothing, marks it failed, with Stripe's reason,
shown on the basket page.

Stripe then says how each refund goes: ``charge.refunded`` (the charge lists
its refunds), ``charge.refund.updated`` and ``refund.updated``. The ledger
follows refund by refund (`refund_apply`, `refund_update`): a refund Stripe
accepted is posted once, keyed on its id, and that posting is reversed once
if the refund fails afterwards (the money came back to the market). Statuses
only move forward, so events delivered twice or out of order change nothing.
A refund made in Stripe's dashboard gets a row of its own. A refund may come
before we know its session is paid: the session is settled first, asking
Stripe, or the event is refused for now (`RefundTooEarly`) and comes again.

Refunds are REFUND transactions (the online-payments account credited, the
client debited), never reversals: the payment did happen and stays received in
its distribution's Encaissements; money went back later, in full or in part,
maybe in several goes. A reversal would erase the payment (and a transaction
is reversed only once). The client's balance shows the refund as a debit: when
products were missing, the admin adjusts the order first, which gives the
client the credit the refund then pays back.
"""

import logging
from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cagette.jobs import Temporary
from cagette.money import ZERO, format_euros

from ..models import (
    Payment,
    RefundStatus,
    StripeCheckout,
    StripeRefund,
)
from . import gateway
from .checkout import OnlinePaymentError
from .deferred import refund_send_defer

logger = logging.getLogger(__name__)
# Stripe's refund statuses, as ours; ours only move to a higher rank.
STRIPE_STATUS = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}
# What Stripe may still change: a refund accepted but not final.
UNFINISHED = [RefundStatus.REQUESTED, RefundStatus.PENDING]
RANK = {
    RefundStatus.REQUESTED: 0,
    RefundStatus.PENDING: 1,
    RefundStatus.SUCCEEDED: 2,
    RefundStatus.FAILED: 3,
}


class RefundTooEarly(Exception):
    """A refund on one of our sessions that is not settled as paid yet: the event
    must not be recorded as handled, so that Stripe delivers it again later."""


class ImpossibleRefund(Exception):
    """Stripe tells of refunds larger than the session they refund: never handled,
    whatever comes later (nothing is written)."""


def paid_checkout(payment: Payment) -> StripeCheckout | None:
    """The session whose money ``payment`` records, if it is a received online payment."""
    return StripeCheckout.objects.paid_for(payment.pk).first()


def refundable(checkout: StripeCheckout) -> Decimal:
    """What can still be asked back: paid, less what was asked or confirmed already."""
    asked = sum(
        (r.amount for r in checkout.refund_requests.exclude(status=RefundStatus.FAILED)), ZERO
    )
    return max(checkout.amount - max(asked, checkout.refunded), ZERO)


def refund_request(*, payment: Payment, amount: Decimal, requested_by, token: str) -> StripeRefund:
    """Ask Stripe, by a job, to refund ``amount`` of a received online payment.

    The same ``token`` (a double click) asks once. Nothing is posted here:
    the ledger follows Stripe's confirmation (`refund_apply`). The returned
    row awaits Stripe's answer until the job has sent it (`refund_deliver`).
    Raises `OnlinePaymentError`.
    """
    checkout = paid_checkout(payment)
    if checkout is None or not checkout.payment_intent:
        raise OnlinePaymentError(_("Ce paiement n'a pas été reçu en ligne."))
    key = f"refund-{checkout.pk}-{token}"
    with transaction.atomic():
        checkout = StripeCheckout.objects.select_for_update().get(pk=checkout.pk)
        refund = StripeRefund.objects.filter(idempotency_key=key).first()
        if refund is None:
            available = refundable(checkout)
            if amount > available:
                raise OnlinePaymentError(
                    _("Vous pouvez rembourser au plus %(amount)s sur ce paiement.")
                    % {"amount": format_euros(available)}
                )
            refund = StripeRefund.objects.create(
                checkout=checkout, amount=amount, idempotency_key=key, requested_by=requested_by
            )
            refund_send_defer(refund.pk, first=True)
    return refund


def refund_deliver(refund_id: int, *, first: bool = False) -> None:
    """The job: the refund Stripe made for the request, if any, else the request sent.

    ``first``: just asked, never sent (no error recorded yet): sent at once;
    any other time Stripe is asked first for the refund an earlier try made.

    Under the session's lock, then the request's (as wherever refunds change),
    so that a second worker, or Stripe's event, waits and then finds it
    answered. Raises `Temporary` while Stripe's answer is awaited.
    """
    with transaction.atomic():
        checkout_id = StripeRefund.objects.values_list("checkout_id", flat=True).get(pk=refund_id)
        StripeCheckout.objects.select_for_update().get(pk=checkout_id)
        locked = StripeRefund.objects.select_for_update().select_related("checkout")
        refund = locked.get(pk=refund_id)
        if refund.refund_id or refund.status != RefundStatus.REQUESTED:
            return  # answered already, or refused: a retried job does nothing
        try:
            refund = _send(refund) if first and not refund.error else refund_resend(refund)
        except gateway.GatewayError as error:
            if error.not_done:
                return  # refused for good: marked failed, with Stripe's reason
            raise Temporary(str(error)) from error
    if not refund.refund_id:
        raise Temporary(f"refund request {refund.pk}: Stripe's answer awaited")


def _send(refund: StripeRefund) -> StripeRefund:
    """Send the request to Stripe, the first time or again: same key, same
    parameters, so Stripe makes one refund however many times it is sent.

    A 4xx (Stripe did nothing) marks it failed, with Stripe's reason, and is
    raised. Any other failure leaves it awaiting Stripe's answer and still
    counted as asked: taking it as failed would let the admin ask again, with
    a new key, and refund twice.
    """
    checkout = refund.checkout
    try:
        answer = gateway.refund_create(
            payment_intent=checkout.payment_intent,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            metadata={
                "payment_id": str(checkout.received_payment_id),
                "refund_request": str(refund.pk),
            },
        )
    except gateway.GatewayError as error:
        if not error.not_done:
            logger.warning("Refund request %s: Stripe's answer awaited (%s)", refund.pk, error)
            StripeRefund.objects.filter(pk=refund.pk).update(error=str(error)[:2000])
            refund.error = str(error)[:2000]
            return refund
        StripeRefund.objects.filter(pk=refund.pk, refund_id="").update(
            status=RefundStatus.FAILED, error=str(error)[:2000]
        )
        raise
    return _answer_record(refund, answer)


def _answer_record(refund: StripeRefund, answer: Mapping) -> StripeRefund:
    """Stripe's answer to a request: the refund's id, and its status."""
    with transaction.atomic():
        # The session's lock first, as wherever refunds change.
        StripeCheckout.objects.select_for_update().get(pk=refund.checkout_id)
        refund = StripeRefund.objects.select_for_update().get(pk=refund.pk)
        refund.status = status_from(refund, answer.get("status"))
        refund.refund_id = refund.refund_id or answer["id"]
        refund.error = ""
        refund.save(update_fields=["refund_id", "status", "error"])
    return refund


def status_from(refund: StripeRefund, stripe_status: str | None) -> str:
    """The row's status once Stripe says ``stripe_status``: only ever forward,
    except for a row Stripe had not answered yet (even one taken as refused)."""
    new = STRIPE_STATUS.get(stripe_status or "", RefundStatus.PENDING)
    if not refund.refund_id or RANK[new] > RANK[refund.status]:
        return new
    return refund.status


def refunds_awaited() -> QuerySet[StripeRefund]:
    """Requests whose answer from Stripe was lost, oldest first."""
    awaited = StripeRefund.objects.filter(status=RefundStatus.REQUESTED, refund_id="")
    return awaited.select_related("checkout").order_by("pk")


def refund_resend(refund: StripeRefund) -> StripeRefund:
    """A request awaiting Stripe's answer (`stripe_reconcile`): the refund Stripe
    made for it, if any, else the same request sent again with the same key.

    Looking first keeps it safe even once Stripe has forgotten the key (after
    24 hours), when sending it again would make a second refund.
    """
    for made in gateway.refunds_of_intent(refund.checkout.payment_intent):
        if (made.get("metadata") or {}).get("refund_request") == str(refund.pk):
            return _answer_record(refund, made)
    return _send(refund)
