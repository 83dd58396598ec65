"""Refunds of online card payments, asked from the basket page.

An admin asks (`refund_request`): Stripe is called with an idempotency key
made from the form's one-time token, and nothing is posted yet. Stripe then
confirms (``charge.refunded``, `refund_apply`) and the ledger follows, for
what is confirmed and not yet posted: the charge carries its running total of
refunds, so events delivered twice or out of order post each cent once.

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
from django.utils import timezone
from django.utils.translation import gettext as _

from cagette.i18n import stored_language
from cagette.money import format_euros

from . import stripe_gateway as gateway
from .ledger import Leg, client_account, market_account, transaction_post
from .models import (
    AccountKind,
    CheckoutStatus,
    Payment,
    RefundStatus,
    StripeCheckout,
    StripeRefund,
    TransactionKind,
)
from .online import OnlinePaymentError

logger = logging.getLogger(__name__)
ZERO = Decimal("0.00")


def paid_checkout(payment: Payment) -> StripeCheckout | None:
    """The session whose money ``payment`` records, if it is a received online payment."""
    return StripeCheckout.objects.filter(
        received_payment=payment, status=CheckoutStatus.PAID
    ).first()


def refundable(checkout: StripeCheckout) -> Decimal:
    """What can still be asked back: paid, less what was asked or confirmed already."""
    asked = sum(
        (r.amount for r in checkout.refund_requests.exclude(status=RefundStatus.FAILED)), ZERO
    )
    return max(checkout.amount - max(asked, checkout.refunded), ZERO)


def refund_request(*, payment: Payment, amount: Decimal, requested_by, token: str) -> StripeRefund:
    """Ask Stripe to refund ``amount`` of a received online payment.

    The same ``token`` (a double click) asks once. Nothing is posted here:
    the ledger follows Stripe's confirmation (`refund_apply`). Raises
    `OnlinePaymentError`, or `GatewayError` when Stripe did not do it.
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
    if refund.refund_id:
        return refund
    try:
        answer = gateway.refund_create(
            payment_intent=checkout.payment_intent,
            amount=refund.amount,
            idempotency_key=key,
            metadata={"payment_id": str(payment.pk), "refund_request": str(refund.pk)},
        )
    except gateway.GatewayError:
        # Stripe never refunds more than was paid, and the ledger posts only
        # what Stripe confirms: the amount can safely be asked again.
        StripeRefund.objects.filter(pk=refund.pk, refund_id="").update(status=RefundStatus.FAILED)
        raise
    refund.refund_id = answer["id"]
    status = answer.get("status")
    refund.status = status if status in RefundStatus.values else RefundStatus.PENDING
    refund.save(update_fields=["refund_id", "status"])
    return refund


def refund_apply(charge: Mapping) -> StripeCheckout | None:
    """Stripe confirms refunds on a charge: post what is confirmed and not yet posted.

    ``amount_refunded`` is the charge's running total, so events arriving
    twice or out of order post each cent once.
    """
    intent = charge.get("payment_intent")
    with transaction.atomic():
        checkout = (
            StripeCheckout.objects.select_for_update(of=("self",))
            .select_related("received_payment__membership__market")
            .filter(payment_intent=intent, status=CheckoutStatus.PAID)
            .first()
            if intent
            else None
        )
        if checkout is None:
            logger.warning("Refund of charge %s: no paid session of ours", charge.get("id"))
            return None
        confirmed = gateway.from_cents(charge.get("amount_refunded") or 0)
        if confirmed > checkout.refunded:
            _post_refund(
                checkout.received_payment,
                confirmed - checkout.refunded,
                key=f"stripe-refund:{charge['id']}:{charge['amount_refunded']}",
            )
            checkout.refunded = confirmed
            checkout.updated_at = timezone.now()
            checkout.save(update_fields=["refunded", "updated_at"])
    return checkout


def _post_refund(payment: Payment, amount: Decimal, *, key: str) -> None:
    """Money gone back to the card: online-payments account credited, client debited."""
    membership = payment.membership
    with stored_language():
        label = _("Remboursement carte bancaire en ligne")
    transaction_post(
        market=membership.market,
        kind=TransactionKind.REFUND,
        label=label,
        legs=[
            Leg(client_account(membership), amount),
            Leg(market_account(membership.market, AccountKind.ONLINE), -amount),
        ],
        posted_by=None,
        idempotency_key=key,
        order=payment.order,
    )
