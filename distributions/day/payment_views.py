"""The « Paiement » box's actions on a basket: receive, mark not paid, add a
payment, give change back, validate. Every POST redirects (POST/redirect/GET)
and has one effect however often it is sent.
"""

from django.contrib import messages
from django.utils.translation import gettext as _

from accounts.access import admin_view, staff_view
from cagette.http import post_only
from cagette.money import ZERO, format_euros
from orders.money import pending_payments
from payments.ledger import InsufficientBalanceError
from payments.methods import PaymentMethod
from payments.models import PaymentStatus
from payments.services import PaymentStateError

from .basket_money import basket_payment_receive_told, receive_prefills
from .forms import AddPaymentForm, RefundForm, manual_methods
from .pickup import (
    BasketLocked,
    BasketNotReady,
    basket_payment_add,
    basket_payment_cancel,
    basket_refund,
    basket_validate,
)
from .views import (
    LOCKED_MESSAGE,
    get_basket,
    get_payment,
    receive_form,
    render_basket,
    to_basket,
    to_distribution,
)


def _refuse_receiving(request, order, payment) -> bool:
    """Say why this payment cannot be received now; False if it can."""
    if order.is_validated:
        messages.error(request, LOCKED_MESSAGE)
    elif payment.status == PaymentStatus.RECEIVED:
        messages.info(request, _("Ce paiement est déjà encaissé."))
    elif payment.status == PaymentStatus.CANCELLED:
        messages.warning(
            request,
            _(
                "Ce paiement est marqué non payé : si le client a finalement payé, "
                "utilisez « Ajouter un paiement »."
            ),
        )
    elif payment.method == PaymentMethod.ONLINE_CARD:
        messages.error(request, _("Un paiement en ligne est confirmé par le prestataire."))
    else:
        return False
    return True


@post_only("day_basket", "distribution_id", "order_id")
@staff_view
def day_payment_receive(request, distribution_id, order_id, payment_id):
    order = get_basket(request, distribution_id, order_id)
    payment = get_payment(order, payment_id)
    if _refuse_receiving(request, order, payment):
        return to_basket(request, order)
    form = receive_form(request.market, payment, request.POST)
    if not form.is_valid():
        return render_basket(request, order, bound={payment.pk: form})
    pending = pending_payments(order.payments.all())
    expected = receive_prefills(order, pending)[payment.pk] or ZERO
    try:
        payment, effect = basket_payment_receive_told(
            order=order,
            payment=payment,
            expected=expected,
            received_by=request.user,
            **form.payment_fields(),
        )
    except BasketLocked:
        messages.error(request, LOCKED_MESSAGE)
    except PaymentStateError:
        messages.warning(request, _("Ce paiement vient d'être modifié : vérifiez-le."))
    else:
        text = _("%(method)s : %(amount)s encaissé.") % {
            "method": payment.get_method_display(),
            "amount": format_euros(payment.amount),
        }
        messages.success(request, f"{text} {effect.sentence()}".strip())
    return to_basket(request, order)


@post_only("day_basket", "distribution_id", "order_id")
@staff_view
def day_payment_cancel(request, distribution_id, order_id, payment_id):
    order = get_basket(request, distribution_id, order_id)
    payment = get_payment(order, payment_id)
    if payment.status == PaymentStatus.CANCELLED:
        messages.info(request, _("Ce paiement est déjà marqué non payé."))
        return to_basket(request, order)
    try:
        basket_payment_cancel(order=order, payment=payment, cancelled_by=request.user)
    except BasketLocked:
        messages.error(request, LOCKED_MESSAGE)
    except PaymentStateError:
        messages.error(
            request,
            _(
                "Ce paiement est déjà encaissé : pour le corriger, annulez l'opération "
                "depuis l'historique du client."
            ),
        )
    else:
        messages.success(
            request,
            _("Paiement de %(amount)s marqué non payé : la somme reste due par le client.")
            % {"amount": format_euros(payment.amount)},
        )
    return to_basket(request, order)


@post_only("day_basket", "distribution_id", "order_id")
@staff_view
def day_payment_add(request, distribution_id, order_id):
    order = get_basket(request, distribution_id, order_id)
    form = AddPaymentForm(
        request.POST, methods=manual_methods(request.market), membership_id=order.membership_id
    )
    if not form.is_valid():
        return render_basket(request, order, add_form=form)
    try:
        payment = basket_payment_add(
            order=order,
            recorded_by=request.user,
            idempotency_key=form.idempotency_key(order.pk),
            **form.payment_fields(),
        )
    except BasketLocked:
        messages.error(request, LOCKED_MESSAGE)
    else:
        messages.success(
            request,
            _("Paiement de %(amount)s (%(method)s) enregistré.")
            % {"amount": format_euros(payment.amount), "method": payment.get_method_display()},
        )
    return to_basket(request, order)


@post_only("day_basket", "distribution_id", "order_id")
@staff_view
def day_refund(request, distribution_id, order_id):
    order = get_basket(request, distribution_id, order_id)
    form = RefundForm(request.POST)
    if not form.is_valid():
        return render_basket(request, order, refund_form=form)
    amount = form.cleaned_data["amount"]
    try:
        basket_refund(
            order=order,
            amount=amount,
            refunded_by=request.user,
            idempotency_key=form.idempotency_key(order.pk),
        )
    except BasketLocked:
        messages.error(request, LOCKED_MESSAGE)
    except InsufficientBalanceError as error:
        form.add_error(
            "amount",
            _("Le remboursement dépasse l'avoir du client (%(held)s).")
            % {"held": format_euros(max(error.available, ZERO))},
        )
        return render_basket(request, order, refund_form=form)
    else:
        messages.success(
            request,
            _("%(amount)s rendus en espèces au client.") % {"amount": format_euros(amount)},
        )
    return to_basket(request, order)


@post_only("day_basket", "distribution_id", "order_id")
@admin_view
def day_basket_validate(request, distribution_id, order_id):
    order = get_basket(request, distribution_id, order_id)
    if order.is_validated:
        messages.info(request, _("Ce panier est déjà validé."))
        return to_distribution(request, distribution_id)
    try:
        basket_validate(order=order, validated_by=request.user)
    except BasketNotReady as error:
        messages.error(
            request,
            _("Ce panier ne peut pas encore être validé : %(reasons)s")
            % {"reasons": " ".join(error.reasons)},
        )
        return to_basket(request, order)
    messages.success(
        request,
        _("Panier n° %(number)s de %(name)s validé.")
        % {"number": order.number, "name": order.membership.user.display_name},
    )
    return to_distribution(request, distribution_id)
