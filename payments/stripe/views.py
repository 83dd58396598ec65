"""Online card payment pages: Stripe's webhook, the client's waiting and return
pages and the admin's refund (paying again or another way is an order page:
`orders.views.online`). None of them calls Stripe: they record what is asked
and defer its job (`payments.stripe.deferred`), then say where it stands.
"""

import logging

import stripe
from django.contrib import messages
from django.db import InterfaceError, OperationalError, transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.access import admin_view, member_view, staff_view
from cagette.http import post_only
from cagette.money import format_euros

from ..models import CheckoutStatus, Payment, PaymentRechoice, ProducerTransfer, RefundStatus
from .checkout import (
    OnlinePaymentError,
    can_choose_again,
    client_status,
    latest_checkout,
    member_online_payment,
)
from .deferred import checkout_open_state, checkout_refresh_defer, checkout_refresh_state
from .forms import OnlineRefundForm
from .payout_sending import payout_queue_again
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
def online_payment_wait(request, payment_id):
    """« Connexion au paiement sécurisé… »: sent on to Stripe once the job has
    opened the session; until then the page looks again every second."""
    payment = member_online_payment(request.membership, payment_id)
    checkout = latest_checkout(payment)
    if checkout is None:
        return redirect("online_payment_return", request.market.slug, payment.pk)
    state = checkout_open_state(checkout.pk)  # the job first, then the row it writes
    checkout.refresh_from_db()
    if checkout.status == CheckoutStatus.OPEN and checkout.url and not checkout.checking:
        return redirect(checkout.url)
    if checkout.status != CheckoutStatus.OPEN and not checkout.error:
        return redirect("online_payment_return", request.market.slug, payment.pk)
    context = {
        "payment": payment,
        "order": payment.order,
        "failed": bool(checkout.error) or state is None,
        "retrying": state == "retrying",
    }
    return render(request, "payments/online_wait.html", context)


@member_view
def online_payment_return(request, payment_id):
    """Where Stripe sends the client back: a job asks Stripe how the payment went;
    « Paiement en cours de confirmation » until it has, then the payment's status."""
    payment = member_online_payment(request.membership, payment_id)
    checkout = latest_checkout(payment)
    session_id = request.GET.get("session_id", "")
    if session_id:
        checkout = payment.stripe_checkouts.filter(session_id=session_id).first() or checkout
    state = None
    if checkout is not None and checkout.session_id and checkout.status in _UNSETTLED:
        if "suivi" not in request.GET:  # just back from Stripe, not the page looking again
            with transaction.atomic():
                checkout_refresh_defer(checkout.pk)
        state = checkout_refresh_state(checkout.pk)
        checkout.refresh_from_db()
        payment.refresh_from_db()
    status = client_status(payment, checkout)
    following = request.GET.copy()
    following["suivi"] = "1"
    context = {
        "payment": payment,
        "order": payment.order,
        "status": "confirming" if state == "waiting" and status != "paid" else status,
        "refresh_url": f"{request.path}?{following.urlencode()}",
        "unreachable": state == "retrying",
        "can_act": status in ("failed", "abandoned") and can_choose_again(payment),
        "rechoice": PaymentRechoice.objects.filter(replaced=payment).first(),
    }
    if context["status"] == "confirming":
        context["can_act"] = False
    return render(request, "payments/online_return.html", context)


_UNSETTLED = (CheckoutStatus.OPEN, CheckoutStatus.PROCESSING)


# -- Encaissements: a producer's transfer Stripe failed, tried again -------------------------


@post_only("cash_summary", "distribution_id")
@staff_view
def payout_retry(request, distribution_id, transfer_id):
    """« Réessayer »: the transfer (or its reversal) asked of Stripe again, by its job."""
    row = get_object_or_404(
        ProducerTransfer,
        pk=transfer_id,
        payment__market=request.market,
        payment__distribution_id=distribution_id,
    )
    if payout_queue_again(row.pk):
        messages.success(
            request,
            _("Versement à %(producer)s redemandé à Stripe : la page le dira une fois fait.")
            % {"producer": row.producer.name},
        )
    else:
        messages.info(
            request,
            _("Rien à redemander pour ce versement : il est déjà fait, ou en attente d'un essai."),
        )
    return redirect("cash_summary", request.market.slug, distribution_id)


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
    else:
        _tell_refund(request, refund, amount)
    return back


def _refund_refused() -> str:
    return _(
        "Stripe a refusé ce remboursement : rien n'a été remboursé. Vérifiez le montant, "
        "ou réessayez plus tard."
    )


def _tell_refund(request, refund, amount) -> None:
    """What the admin is told once the request is recorded (Stripe is asked by a job)."""
    if refund.status == RefundStatus.FAILED:
        messages.error(request, _refund_refused())
    elif not refund.refund_id:
        messages.success(
            request,
            _(
                "Remboursement de %(amount)s demandé : en attente de Stripe. Il "
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
