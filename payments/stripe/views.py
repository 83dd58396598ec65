"""Online card payment pages: Stripe's webhook, the client's return page, paying
again or another way, and the admin's refund.
"""

import logging

import stripe
from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.access import admin_view, member_view
from cagette.http import post_only
from cagette.money import format_euros
from orders.checkout_forms import PaymentChoiceForm
from orders.services import (
    checkout_choices,
    online_card_minimum_message,
    online_card_minimum_note,
)

from ..methods import PaymentMethod
from ..models import CheckoutStatus, Payment, PaymentRechoice, PaymentStatus, RefundStatus
from .checkout import (
    OnlinePaymentError,
    can_choose_again,
    checkout_open,
    checkout_sync,
    client_status,
    latest_checkout,
    payment_choose_again,
)
from .forms import OnlineRefundForm
from .gateway import GatewayError, GatewayRefused, checkout_accepts
from .refunds import RefundTooEarly, paid_checkout, refund_request, refundable
from .webhooks import MalformedEvent, event_handle, event_reject, event_verified

logger = logging.getLogger(__name__)


def _unavailable() -> str:
    return _("Le paiement en ligne est momentanément indisponible : réessayez dans un instant.")


# -- Stripe's webhook ---------------------------------------------------------------------


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Verify the signature on the raw body and the event's shape, then handle it (once).

    An event that cannot be handled yet gets a 503: nothing is recorded, and
    Stripe delivers it again later. A signed one that can never be handled
    gets a 400 and is kept for the admin (`event_reject`).
    """
    try:
        event = event_verified(request.body, request.headers.get("Stripe-Signature"))
    except MalformedEvent as error:
        return _rejected(request, error)
    except (ValueError, stripe.SignatureVerificationError) as error:
        logger.warning("Stripe webhook refused: %s", error)
        return HttpResponseBadRequest()
    try:
        event_handle(event)
    except MalformedEvent as error:
        return _rejected(request, error)
    except (RefundTooEarly, GatewayError) as error:
        logger.warning("Stripe event %s left for a later delivery: %s", event["id"], error)
        return HttpResponse(status=503)
    return HttpResponse(status=200)


def _rejected(request, error: MalformedEvent) -> HttpResponse:
    event_reject(request.body, error)
    return HttpResponseBadRequest()


# -- The client's side ----------------------------------------------------------------------


def _get_online_payment_for_member(request, payment_id) -> Payment:
    return get_object_or_404(
        Payment.objects.select_related("order__distribution"),
        pk=payment_id,
        membership=request.membership,
        method=PaymentMethod.ONLINE_CARD,
    )


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
    try:
        checkout = checkout_open(payment=payment, **_return_urls(request, payment))
    except GatewayRefused:
        messages.error(
            request,
            _(
                "Le paiement en ligne n'a pas pu être préparé pour cette commande : "
                "choisissez un autre moyen de paiement."
            ),
        )
        return redirect("order_detail", request.market.slug, payment.order_id)
    except GatewayError:
        messages.error(request, _unavailable())
        return redirect("order_detail", request.market.slug, payment.order_id)
    if checkout is None:
        return redirect("online_payment_return", request.market.slug, payment.pk)
    return redirect(checkout.url)


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


@member_view
def online_payment_return(request, payment_id):
    """Where Stripe sends the client back: the payment's real status, asked to Stripe."""
    payment = _get_online_payment_for_member(request, payment_id)
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


@post_only("online_payment_return", "payment_id")
@member_view
def online_payment_pay(request, payment_id):
    """« Payer en ligne » / « Réessayer »: the open session, or a new one."""
    payment = _get_online_payment_for_member(request, payment_id)
    if payment.status == PaymentStatus.PENDING:
        return pay_online(request, payment)
    if not can_choose_again(payment):
        return redirect("online_payment_return", request.market.slug, payment.pk)
    return _choose_again(request, payment, PaymentMethod.ONLINE_CARD)


def _choose_again(request, payment: Payment, choice: str):
    try:
        rechoice = payment_choose_again(payment=payment, choice=choice, chosen_by=request.user)
    except GatewayError:
        messages.error(request, _unavailable())
        return redirect("online_payment_return", request.market.slug, payment.pk)
    except OnlinePaymentError as error:
        messages.error(request, error.message)
        return redirect("online_payment_return", request.market.slug, payment.pk)
    if rechoice.payment is not None and rechoice.payment.method == PaymentMethod.ONLINE_CARD:
        return pay_online(request, rechoice.payment)
    messages.success(request, _("Votre choix est enregistré."))
    return redirect("order_detail", request.market.slug, payment.order_id)


@member_view
def online_payment_change(request, payment_id):
    """« Choisir un autre moyen de paiement » for what an online payment was for."""
    payment = _get_online_payment_for_member(request, payment_id)
    if not can_choose_again(payment):
        return redirect("online_payment_return", request.market.slug, payment.pk)
    choices = checkout_choices(request.market, payment.amount)
    note = online_card_minimum_note(request.market, payment.amount)
    form = PaymentChoiceForm(request.POST or None, choices=choices, note=note)
    if request.method == "POST" and form.is_valid():
        return _choose_again(request, payment, form.cleaned_data["choice"])
    context = {"payment": payment, "order": payment.order, "form": form}
    status = 400 if request.method == "POST" else 200
    return render(request, "payments/online_change.html", context, status=status)


# -- The admin's refund (basket page) --------------------------------------------------------


def basket_online_refunds(payments) -> list[dict]:
    """For the basket page: each received online payment with its refund form and history."""
    rows = []
    for payment in payments:
        if payment.method != PaymentMethod.ONLINE_CARD or payment.status != PaymentStatus.RECEIVED:
            continue
        checkout = paid_checkout(payment)
        if checkout is None:
            continue
        available = refundable(checkout)
        form = OnlineRefundForm(amount=available, prefix=f"remboursement-{payment.pk}")
        rows.append(
            {
                "payment": payment,
                "checkout": checkout,
                "refundable": available,
                "form": form if available > 0 else None,
                "requests": checkout.refund_requests.select_related("requested_by").order_by("pk"),
            }
        )
    return rows


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
