"""Choosing again how to pay an order whose online payment did not go through.

An online payment that failed, expired or that the client gave up on is
replaced, once, by the client's new choice: online again, another method of
the market, or the balance (« cagnotte »). It is an order flow: the order's
payment method changes and the client gets the order's recap again.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from payments.ledger import client_account, retried_on_conflict
from payments.methods import CAGNOTTE, PaymentMethod
from payments.models import CheckoutStatus, Payment, PaymentRechoice, PaymentStatus
from payments.services import payment_cancel, payment_expect
from payments.stripe.checkout import OnlinePaymentError, latest_checkout
from payments.stripe.opening import checkouts_close

from ..emails import order_recap_queue
from ..models import Order
from ..services import checkout_choices


def payment_choose_again(*, payment: Payment, choice: str, chosen_by) -> PaymentRechoice:
    """The client pays what ``payment`` was for another way (or online again).

    The online payment is cancelled (its open sessions closed at Stripe by
    jobs deferred with the choice) and a pending payment is created for the
    new choice; « cagnotte » creates none, the order staying on the balance.
    Once per payment: asked again, it returns the first choice. Raises
    `OnlinePaymentError`. A session paid at Stripe before its job closes it
    is received all the same, as a payment of its own on the client's balance
    (`payments.stripe.checkout`).
    """
    return _choose_again(payment, choice, chosen_by)


@retried_on_conflict
def _choose_again(payment: Payment, choice: str, chosen_by) -> PaymentRechoice:
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("market")
            .get(pk=payment.pk)
        )
        done = PaymentRechoice.objects.filter(replaced=payment).first()
        if done is not None:
            return done
        _check_replaceable(payment, choice, checkout_choices(payment.market, payment.amount))
        checkouts_close(payment)
        if payment.status == PaymentStatus.PENDING:
            payment_cancel(payment=payment, cancelled_by=chosen_by)
        order = Order.objects.select_for_update().get(pk=payment.order_id)
        new = _new_choice(order, payment.amount, choice, chosen_by)
        rechoice = PaymentRechoice.objects.create(
            replaced=payment, choice=choice, payment=new, chosen_by=chosen_by
        )
        order.payment_method = choice
        order.updated_at = timezone.now()
        order.save(update_fields=["payment_method", "updated_at"])
        amount, new_id = payment.amount, new.pk if new else None
        # A complement's payment carries a suffixed reference (``…-2``).
        added = payment.reference != order.reference
        order_recap_queue(order.pk, choice=choice, amount=amount, payment_id=new_id, added=added)
    return rechoice


def _check_replaceable(payment: Payment, choice: str, choices: list[str]) -> None:
    if payment.method != PaymentMethod.ONLINE_CARD or payment.order_id is None:
        raise OnlinePaymentError(_("Ce paiement ne peut pas être remplacé."))
    if payment.status == PaymentStatus.RECEIVED:
        raise OnlinePaymentError(_("Votre paiement en ligne vient d'être reçu : tout est réglé."))
    latest = latest_checkout(payment)
    if latest is not None and latest.status == CheckoutStatus.PROCESSING:
        raise OnlinePaymentError(
            _("Votre paiement en ligne est en cours de traitement : attendez sa confirmation.")
        )
    if choice not in choices:
        raise OnlinePaymentError(_("Choisissez un des moyens de paiement proposés par le marché."))


def _new_choice(order: Order, amount: Decimal, choice: str, chosen_by) -> Payment | None:
    if choice == CAGNOTTE:
        held = client_account(order.membership).held
        if held < 0 and not order.market.allow_negative_balances:
            raise OnlinePaymentError(
                _("Votre solde ne couvre pas cette commande : choisissez un autre moyen.")
            )
        return None
    return payment_expect(order=order, method=choice, amount=amount, created_by=chosen_by)
