"""Paying an order online after checkout, again, or another way (the order's side
of online payments; Stripe's return page and webhook are in `payments.stripe.views`).
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.access import member_view
from cagette.http import post_only
from payments.methods import PaymentMethod
from payments.models import Payment, PaymentStatus
from payments.stripe.checkout import (
    OnlinePaymentError,
    can_choose_again,
    member_online_payment,
)

from ..checkout_forms import PaymentChoiceForm
from ..paying.online import pay_online
from ..paying.rechoose import payment_choose_again
from ..services import checkout_choices, online_card_minimum_note


@post_only("online_payment_return", "payment_id")
@member_view
def online_payment_pay(request, payment_id):
    """« Payer en ligne » / « Réessayer »: the open session, or a new one."""
    payment = member_online_payment(request.membership, payment_id)
    if payment.status == PaymentStatus.PENDING:
        return pay_online(request, payment)
    if not can_choose_again(payment):
        return redirect("online_payment_return", request.market.slug, payment.pk)
    return _choose_again(request, payment, PaymentMethod.ONLINE_CARD)


def _choose_again(request, payment: Payment, choice: str):
    try:
        rechoice = payment_choose_again(payment=payment, choice=choice, chosen_by=request.user)
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
    payment = member_online_payment(request.membership, payment_id)
    if not can_choose_again(payment):
        return redirect("online_payment_return", request.market.slug, payment.pk)
    choices = checkout_choices(request.market, payment.amount)
    note = online_card_minimum_note(request.market, payment.amount)
    form = PaymentChoiceForm(request.POST or None, choices=choices, note=note)
    if request.method == "POST" and form.is_valid():
        return _choose_again(request, payment, form.cleaned_data["choice"])
    context = {"payment": payment, "order": payment.order, "form": form}
    status = 400 if request.method == "POST" else 200
    return render(request, "orders/online_change.html", context, status=status)
