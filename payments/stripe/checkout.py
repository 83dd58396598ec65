"""Online card payments with Stripe Checkout: open a session, settle it, refund it.

How a payment goes
------------------
1. Checkout records the order with a pending online `Payment`; a job opens a
   Checkout Session for it and the client is sent to Stripe's page
   (`payments.stripe.opening`: no request calls Stripe).
2. Stripe says how it went by webhook (`payments.stripe.webhooks`); the return
   page's job and ``manage.py stripe_reconcile`` ask Stripe themselves
   (`checkout_sync`). All of them hand the session to `checkout_apply`, the one
   place that changes our records, so the outcome is the same whichever comes
   first and however many times each one comes.
3. Paid: the payment is received (`payment_receive`, whose posting is keyed on
   the payment: posted once). Failed or expired: the payment is cancelled and
   the client may choose again (`orders.paying.rechoose`), online or otherwise.
4. Refunds: see `payments.stripe.refunds` and `payments.stripe.refund_events`.

Locks
-----
The session's row first, then the payment's, then (in the ledger) the
accounts': every path here takes them in this order, so two events about one
session, delivered at the same time, run one after the other.
"""

import logging
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone

from ..ledger import retried_on_conflict
from ..methods import PaymentMethod
from ..models import (
    CheckoutStatus,
    Payment,
    PaymentRechoice,
    PaymentStatus,
    StripeCheckout,
)
from ..services import payment_cancel, payment_receive, payment_record
from . import gateway
from .payout_sending import payment_accounts_lock
from .payouts import payouts_plan

logger = logging.getLogger(__name__)
# A session's status only moves to a higher rank.
RANK = {
    CheckoutStatus.OPEN: 0,
    CheckoutStatus.PROCESSING: 1,
    CheckoutStatus.PAID: 2,
    CheckoutStatus.FAILED: 2,
    CheckoutStatus.EXPIRED: 2,
}
# Sessions through which money may still come (or came).
ALIVE = [CheckoutStatus.OPEN, CheckoutStatus.PROCESSING, CheckoutStatus.PAID]


class OnlinePaymentError(Exception):
    """A refusal a person can understand; ``message`` is a French sentence."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- Settling a session -------------------------------------------------------------


def checkout_sync(checkout: StripeCheckout) -> StripeCheckout:
    """Ask Stripe how the session stands and settle it (the return page's job,
    reconciliation); an attempt whose session is not opened yet is left as it is."""
    if not checkout.session_id:
        return checkout
    session = gateway.checkout_session_retrieve(checkout.session_id)
    return checkout_apply(session) or checkout


def _intent_of(session: Mapping) -> Mapping | None:
    intent = session.get("payment_intent")
    return intent if isinstance(intent, Mapping) else None


def _status_of(session: Mapping, failed: bool) -> str:
    if failed:
        return CheckoutStatus.FAILED
    if session.get("status") == "expired":
        return CheckoutStatus.EXPIRED
    if session.get("status") != "complete":
        return CheckoutStatus.OPEN
    if session.get("payment_status") in ("paid", "no_payment_required"):
        return CheckoutStatus.PAID
    # Complete but unpaid: a debit the bank has not confirmed yet, unless the
    # PaymentIntent (when expanded) already says it failed.
    intent = _intent_of(session) or {}
    if intent.get("status") in ("requires_payment_method", "canceled"):
        return CheckoutStatus.FAILED
    return CheckoutStatus.PROCESSING


@retried_on_conflict
def checkout_apply(session: Mapping, *, failed: bool = False) -> StripeCheckout | None:
    """Bring our records in line with ``session`` (a Checkout Session as Stripe sends it).

    ``failed``: Stripe said the delayed payment failed. Idempotent, and
    blind to the order of arrival: a status never moves back. None for a
    session that is not ours.
    """
    with transaction.atomic():
        checkout = _locked_checkout(session)
        if checkout is None:
            logger.info("Stripe session %s is not one of ours", session.get("id"))
            return None
        intent = _intent_of(session)
        intent_id = intent["id"] if intent else session.get("payment_intent")
        if intent_id and not checkout.payment_intent:
            checkout.payment_intent = intent_id
        if intent and not checkout.charge_id:
            checkout.charge_id = gateway.charge_of(intent)
        status = _status_of(session, failed)
        if RANK[status] > RANK[checkout.status]:
            if status == CheckoutStatus.PAID:
                checkout.received_payment = _receive(checkout, session)
            elif status in (CheckoutStatus.FAILED, CheckoutStatus.EXPIRED):
                _give_up(checkout)
            checkout.status = status
        checkout.updated_at = timezone.now()
        checkout.save()
    return checkout


def _locked_checkout(session: Mapping) -> StripeCheckout | None:
    locked = StripeCheckout.objects.select_for_update(of=("self",)).select_related("payment")
    checkout = locked.filter(session_id=session.get("id")).first()
    if checkout is None and _adopt(session):
        checkout = locked.filter(session_id=session.get("id")).first()
    return checkout


def _adopt(session: Mapping) -> bool:
    """A session of ours we have no row for, or whose row lacks it (the job that
    opened it died before saving it): its metadata names the payment."""
    metadata = session.get("metadata") or {}
    try:
        payment_id, attempt = int(metadata["payment_id"]), int(metadata.get("attempt") or 1)
        market_id = int(metadata["market_id"])
    except (KeyError, TypeError, ValueError):
        return False
    payment = Payment.objects.filter(
        pk=payment_id, market_id=market_id, method=PaymentMethod.ONLINE_CARD
    ).first()
    if payment is None or not session.get("amount_total"):
        return False
    # The job that opened it stopped before saving it: the attempt's row awaits it.
    awaiting = StripeCheckout.objects.filter(payment=payment, attempt=attempt, session_id=None)
    if awaiting.update(session_id=session["id"], url=session.get("url") or ""):
        return True
    try:
        with transaction.atomic():
            StripeCheckout.objects.get_or_create(
                session_id=session["id"],
                defaults={
                    "payment": payment,
                    "attempt": attempt,
                    "url": session.get("url") or "",
                    "amount": gateway.from_cents(session["amount_total"]),
                },
            )
    except IntegrityError:
        logger.warning("Stripe session %s clashes with a recorded attempt", session["id"])
        return False
    return True


def _receive(checkout: StripeCheckout, session: Mapping) -> Payment:
    """The session is paid: receive its payment, once."""
    amount = checkout.amount
    if session.get("amount_total") is not None:
        amount = gateway.from_cents(session["amount_total"])
    payment = Payment.objects.select_for_update().get(pk=checkout.payment_id)
    if payment.status == PaymentStatus.PENDING:
        payment_accounts_lock(payment)  # two postings or more: see `ledger.accounts_lock`
        received = payment_receive(
            payment=payment, received_by=None, method=PaymentMethod.ONLINE_CARD, amount=amount
        )
        # Producers with a connected account get their share (sent after commit),
        # funded by the session's charge (looked up before sending when the
        # event did not carry it).
        payouts_plan(received, charge=checkout.charge_id)
        return received
    # Settled otherwise meanwhile (another session paid it, or it was marked not
    # paid): the money did arrive, so it is a payment of its own and stays on
    # the client's balance, where it can be refunded.
    logger.warning(
        "Stripe session %s paid payment %s already %s", checkout, payment.pk, payment.status
    )
    return payment_record(
        membership=payment.membership,
        method=PaymentMethod.ONLINE_CARD,
        amount=amount,
        recorded_by=None,
        reference=payment.reference,
        idempotency_key=f"stripe-session:{checkout.session_id}",
        order=payment.order,
    )


def _give_up(checkout: StripeCheckout) -> None:
    """No money will come through this session: cancel its payment, unless another
    session of the same payment may still bring it."""
    payment = Payment.objects.select_for_update().get(pk=checkout.payment_id)
    others = payment.stripe_checkouts.exclude(pk=checkout.pk).filter(status__in=ALIVE)
    if payment.status == PaymentStatus.PENDING and not others.exists():
        payment_cancel(payment=payment, cancelled_by=None)


# -- Choosing again ---------------------------------------------------------------------


def member_online_payment(membership, payment_id: int) -> Payment:
    """The member's own online payment ``payment_id``: a 404 for anyone else's."""
    return get_object_or_404(
        Payment.objects.select_related("order__distribution"),
        pk=payment_id,
        membership=membership,
        method=PaymentMethod.ONLINE_CARD,
    )


def latest_checkout(payment: Payment) -> StripeCheckout | None:
    return payment.stripe_checkouts.order_by("-attempt").first()


def can_choose_again(payment: Payment) -> bool:
    """An online payment that did not (or will not) go through, not yet replaced."""
    if payment.method != PaymentMethod.ONLINE_CARD or payment.status == PaymentStatus.RECEIVED:
        return False
    if PaymentRechoice.objects.filter(replaced=payment).exists():
        return False
    latest = latest_checkout(payment)
    return latest is None or latest.status != CheckoutStatus.PROCESSING


# -- What the client is told ---------------------------------------------------------


def client_status(payment: Payment, checkout: StripeCheckout | None) -> str:
    """``paid``, ``processing``, ``failed`` or ``abandoned`` (not paid, for whatever reason)."""
    if payment.status == PaymentStatus.RECEIVED:
        return "paid"
    if checkout is not None and checkout.status in (CheckoutStatus.PAID, CheckoutStatus.PROCESSING):
        return "paid" if checkout.status == CheckoutStatus.PAID else "processing"
    if checkout is not None and checkout.status == CheckoutStatus.FAILED:
        return "failed"
    return "abandoned"


def online_rows(payments) -> list[dict]:
    """The client's online payments of an order, each with its status and whether
    the client can still act on it (pay, retry, or choose another way)."""
    rows = []
    for payment in payments:
        if payment.method != PaymentMethod.ONLINE_CARD:
            continue
        status = client_status(payment, latest_checkout(payment))
        rows.append(
            {
                "payment": payment,
                "status": status,
                "can_act": status in ("failed", "abandoned") and can_choose_again(payment),
            }
        )
    return rows
