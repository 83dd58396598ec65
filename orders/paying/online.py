"""Sending a client to Stripe's page to pay an order (or saying why not).

The request records the attempt and a job opens its session
(`payments.stripe.opening`); the client waits on « Connexion au paiement
sécurisé… » (`payments.stripe.views.online_payment_wait`), sent on to Stripe
once it is open.

Used by the checkout's last step (`distributions.shop`) and by « Payer en
ligne » on the order's page (`orders.views.online`).
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from payments.methods import PaymentMethod
from payments.models import Payment, PaymentStatus
from payments.stripe.gateway import checkout_accepts
from payments.stripe.opening import checkout_request

from ..checkout.choices import online_card_minimum_message


def _return_urls(request, payment: Payment) -> dict:
    back = request.build_absolute_uri(
        reverse("online_payment_return", args=[request.market.slug, payment.pk])
    )
    return {"success_url": back + "?session_id={CHECKOUT_SESSION_ID}", "cancel_url": back}


def pay_online(request, payment: Payment):
    """Send the client to Stripe's page for ``payment`` (or say why not)."""
    if not checkout_accepts(payment.amount):  # lowered since it was chosen, say
        messages.error(request, online_card_minimum_message())
        return redirect("order_detail", request.market.slug, payment.order_id)
    checkout = checkout_request(payment=payment, **_return_urls(request, payment))
    if checkout is None:
        return redirect("online_payment_return", request.market.slug, payment.pk)
    return redirect("online_payment_wait", request.market.slug, payment.pk)


def pay_order_online(request, order):
    """After checkout: the order's pending online payment, paid on Stripe's page."""
    payment = (
        order.payments.filter(method=PaymentMethod.ONLINE_CARD, status=PaymentStatus.PENDING)
        .order_by("-created_at")
        .first()
    )
    if payment is None:
        return redirect("order_detail", request.market.slug, order.pk)
    return pay_online(request, payment)
