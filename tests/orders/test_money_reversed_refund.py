"""A refund later reversed never happened: `orders.money` leaves it out of what was received."""

from decimal import Decimal

import pytest

from orders.models import Order
from orders.money import with_money
from orders.services import basket_read, order_checkout
from payments.ledger import transaction_reverse
from payments.models import PaymentStatus
from payments.services import payment_receive, refund_record
from tests.factories import MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def overpaid(market, admin):
    """A basket of 20,00 € paid 30,00 € in cash."""
    market.payment_methods = ["cash"]
    market.save()
    farm = ProducerFactory(market=market)
    product = ProductFactory(producer=farm, unit_price=Decimal("1.00"))
    member = MembershipFactory(market=market)
    order = order_checkout(
        membership=member,
        distribution=DistributionFactory(market=market),
        lines=basket_read(market, {product.pk: "20"}),
        choice="cash",
        token="t-overpaid",
        notify=False,
    )
    payment = order.payments.get(status=PaymentStatus.PENDING)
    payment_receive(payment=payment, received_by=admin.user, amount=Decimal("30.00"))
    return order


def _money(order) -> Order:
    return with_money(Order.objects.filter(pk=order.pk)).get()


def test_a_reversed_refund_is_not_taken_off_what_the_order_received(overpaid, admin):
    refund = refund_record(
        membership=overpaid.membership,
        amount=Decimal("4.00"),
        refunded_by=admin.user,
        order=overpaid,
    )
    transaction_reverse(txn=refund, reason="Remboursé par erreur", posted_by=admin.user)

    money = _money(overpaid)
    assert (money.refunded, money.received, money.paid) == (
        Decimal("0.00"),
        Decimal("30.00"),
        Decimal("30.00"),
    )


def test_a_refund_standing_beside_a_reversed_one_is_taken_off(overpaid, admin):
    reversed_refund = refund_record(
        membership=overpaid.membership,
        amount=Decimal("4.00"),
        refunded_by=admin.user,
        order=overpaid,
    )
    transaction_reverse(txn=reversed_refund, reason="Remboursé par erreur", posted_by=admin.user)
    refund_record(
        membership=overpaid.membership,
        amount=Decimal("10.00"),
        refunded_by=admin.user,
        order=overpaid,
    )

    money = _money(overpaid)
    assert (money.refunded, money.received, money.due) == (
        Decimal("10.00"),
        Decimal("20.00"),
        Decimal("0.00"),
    )
