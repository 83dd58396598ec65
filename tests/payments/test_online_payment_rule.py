"""An online payment is confirmed only by Stripe: the service itself says so."""

import pytest

from payments.methods import PaymentMethod
from payments.models import PaymentStatus, Transaction
from payments.services import OnlinePaymentByStripeOnly, payment_receive

from .conftest import online_payment, order_online


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["cash", "cheque", "transfer", "card_terminal"])
def test_a_pending_online_payment_cannot_be_received_as_another_method(
    member, distribution, honey, admin, method
):
    payment = online_payment(order_online(member, distribution, honey))
    with pytest.raises(OnlinePaymentByStripeOnly):
        payment_receive(payment=payment, received_by=admin, method=method)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.method == PaymentMethod.ONLINE_CARD
    assert not Transaction.objects.filter(kind="payment", order=payment.order).exists()


@pytest.mark.django_db
def test_a_pending_online_payment_is_received_as_an_online_one(member, distribution, honey):
    payment = online_payment(order_online(member, distribution, honey))
    received = payment_receive(payment=payment, received_by=None, method=PaymentMethod.ONLINE_CARD)
    assert received.status == PaymentStatus.RECEIVED
