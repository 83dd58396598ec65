"""Online card payment pages: Stripe's webhook, the client's return page and the
admin's refund (paying again or another way is an order page: `orders.views.online`).
"""

import logging

import stripe
from django.contrib import messages
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.access import admin_view, member_view
from cagette.http import post_only
from cagette.money import format_euros

from ..models import CheckoutStatus, Payment, PaymentRechoice, RefundStatus
from .checkout import (
    OnlinePaymentError,
    can_choose_again,
    checkout_sync,
    client_status,
    latest_checkout,
    member_online_payment,
)
from .forms import OnlineRefundForm
from .gateway import GatewayError
from .refunds import refund_request
from .webhooks import MalformedEvent, event_reject, event_store, event_verified

logger = logging.getLogger(__name__)


# -- Stripe's webhook ---------------------------------------------------------------------


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Verify the signature on the raw body and the event's shape, store it, answer 200.

    A job applies the stored event (`webhooks.event_apply`). A signed event
    that can never be handled gets a 400 and is kept for the admin
    (`event_reject`). When the database cannot be reached nothing is stored:
    a 503, and Stripe delivers the event again later.
    """
    try:
        event = event_verified(request.body, request.headers.get("Stripe-Signature"))
    except MalformedEvent as error:
        return _unless_database_down(_rejected, request, error)
    except (ValueError, stripe.SignatureVerificationError) as error:
        logger.warning("Stripe webhook refused: %s", error)
        return HttpResponseBadRequest()
    return _unless_database_down(_stored, event)


def _stored(event) -> HttpResponse:
    event_store(event)
    return HttpResponse(status=200)


def _rejected(request, error: MalformedEvent) -> HttpResponse:
    event_reject(request.body, error)
    return HttpResponseBadRequest()


def _unless_database_down(write, *args) -> HttpResponse:
    try:
        return write(*args)
    except (OperationalError, InterfaceError) as error:
        logger.error("Stripe webhook not stored, the database is unreachable: %s", error)
        return HttpResponse(status=503)


# -- The client's side ----------------------------------------------------------------------


@member_view
def online_payment_return(request, payment_id):
    """Where Stripe sends the client back: the payment's real status, asked to Stripe."""
    payment = member_online_payment(request.membership, payment_id)
    checkout = latest_checkout(payment)
    session_id = request.GET.get("session_id", "")
    if session_id:
        checkout = payment.stripe_checkouts.filter(session_id=session_id).first() or checkout
    unreachable = False
    if checkout is not None and checkout.status in (CheckoutStatus.OPEN, CheckoutStatus.PROCESSING):
        try:
            checkout = checkout_sync(checkout)
        except GatewayError:
            unreachable = True
        payment.refresh_from_db()
    status = client_status(payment, checkout)
    context = {
        "payment": payment,
        "order": payment.order,
        "status": status,
        "unreachable": unreachable,
        "can_act": status in ("failed", "abandoned") and can_choose_again(payment),
        "rechoice": PaymentRechoice.objects.filter(replaced=payment).first(),
    }
    return render(request, "payments/online_return.html", context)


# -- The admin's refund (basket page) --------------------------------------------------------


@post_only("day_basket", "distribution_id", "order_id")
@admin_view
def online_refund(request, distribution_id, order_id, payment_id):
    payment = get_object_or_404(
        Payment,
        pk=payment_id,
        market=request.market,
        order_id=order_id,
        order__distribution_id=distribution_id,
    )
    back = redirect("day_basket", request.market.slug, distribution_id, order_id)
    form = OnlineRefundForm(request.POST, prefix=f"remboursement-{payment.pk}")
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return back
    amount = form.cleaned_data["amount"]
    try:
        refund = refund_request(
            payment=payment,
            amount=amount,
            requested_by=request.user,
            token=form.cleaned_data["form_token"],
        )
    except OnlinePaymentError as error:
        messages.error(request, error.message)
    except GatewayError as error:
        logger.warning("Refund of payment %s refused by Stripe: %s", payment.pk, error)
        messages.error(request, _refund_refused())
    else:
        _tell_refund(request, refund, amount)
    return back


def _refund_refused() -> str:
    return _(
        "Stripe a refusé ce remboursement : rien n'a été remboursé. Vérifiez le montant, "
        "ou réessayez plus tard."
    )


def _tell_refund(request, refund, amount) -> None:
    """What the admin is told once the request is sent (Stripe's own words are logged)."""
    if refund.status == RefundStatus.FAILED:
        messages.error(request, _refund_refused())
    elif not refund.refund_id:
        messages.warning(
            request,
            _(
                "Remboursement de %(amount)s envoyé à Stripe, mais sa réponse n'est pas "
                "arrivée : elle est attendue. Ne le demandez pas une seconde fois ; il "
                "apparaîtra dans le solde du client dès que Stripe l'aura confirmé."
            )
            % {"amount": format_euros(amount)},
        )
    else:
        messages.success(
            request,
            _(
                "Remboursement de %(amount)s demandé à Stripe : il apparaîtra dans le "
                "solde du client dès que Stripe l'aura confirmé."
            )
            % {"amount": format_euros(amount)},
        )
