"""Distribution day services: receiving payments, validating baskets, the bulk plan."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from distributions.cash.till import cash_count_record
from distributions.day.bulk import bulk_plan, bulk_validate
from distributions.day.pickup import BasketNotReady, basket_blockers, basket_validate
from distributions.models import DistributionStatus
from orders.models import Unit
from orders.services import basket_read, order_checkout
from payments.ledger import (
    InsufficientBalanceError,
    account_balance,
    client_account,
    market_account,
)
from payments.models import AccountKind, Payment, PaymentStatus, Transaction
from payments.services import (
    PaymentStateError,
    payment_cancel,
    payment_receive,
    payment_record,
    refund_record,
)
from tests.factories import MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

ALL_METHODS = ["cheque", "cash", "transfer", "card_terminal", "cagnotte"]


@pytest.fixture
def basket_product(market):
    market.payment_methods = ALL_METHODS
    market.save()
    return ProductFactory(
        producer=ProducerFactory(market=market),
        name="Panier de légumes",
        unit=Unit.BASKET,
        unit_price=Decimal("15.00"),
    )


@pytest.fixture
def distribution(market):
    return DistributionFactory(market=market)


def _order(member, distribution, product, choice, quantity="1"):
    lines = basket_read(member.market, {product.pk: quantity})
    return order_checkout(
        membership=member,
        distribution=distribution,
        lines=lines,
        choice=choice,
        token=f"{member.pk}-{choice}",
        notify=False,
    )


def _pending(order):
    return order.payments.get(status=PaymentStatus.PENDING)


def test_receiving_cash_credits_the_client_and_fills_the_cash_box(
    member, admin, distribution, basket_product
):
    order = _order(member, distribution, basket_product, "cash")
    payment = payment_receive(payment=_pending(order), received_by=admin.user)
    assert payment.status == PaymentStatus.RECEIVED
    assert (payment.received_by, payment.transaction.order) == (admin.user, order)
    assert client_account(member).held == Decimal("0.00")
    assert account_balance(market_account(order.market, AccountKind.CASH)) == Decimal("15.00")


def test_receiving_the_same_payment_twice_posts_it_once(
    member, admin, distribution, basket_product
):
    payment = _pending(_order(member, distribution, basket_product, "cheque"))
    payment_receive(payment=payment, received_by=admin.user, cheque_number="77")
    payment_receive(payment=payment, received_by=admin.user, cheque_number="77")
    assert Transaction.objects.filter(kind="payment").count() == 1
    assert client_account(member).held == Decimal("0.00")


def test_an_undecided_on_site_payment_is_received_with_the_method_used(
    member, admin, distribution, basket_product
):
    payment = _pending(_order(member, distribution, basket_product, "on_site"))
    with pytest.raises(PaymentStateError):
        payment_receive(payment=payment, received_by=admin.user)
    payment = payment_receive(payment=payment, received_by=admin.user, method="card_terminal")
    assert payment.method == "card_terminal"
    terminal = market_account(payment.market, AccountKind.CARD_TERMINAL)
    assert account_balance(terminal) == Decimal("15.00")


def test_a_partial_payment_leaves_the_rest_on_the_balance(
    member, admin, distribution, basket_product
):
    payment = _pending(_order(member, distribution, basket_product, "cash"))
    payment_receive(payment=payment, received_by=admin.user, amount=Decimal("10.00"))
    assert client_account(member).held == Decimal("-5.00")


def test_an_overpayment_can_be_given_back_in_cash_but_never_beyond_the_credit(
    member, admin, distribution, basket_product
):
    order = _order(member, distribution, basket_product, "cash")
    payment_receive(payment=_pending(order), received_by=admin.user, amount=Decimal("20.00"))
    assert client_account(member).held == Decimal("5.00")
    with pytest.raises(InsufficientBalanceError):
        refund_record(membership=member, amount=Decimal("5.01"), refunded_by=admin.user)
    refund_record(membership=member, amount=Decimal("5.00"), refunded_by=admin.user, order=order)
    assert client_account(member).held == Decimal("0.00")
    assert account_balance(market_account(order.market, AccountKind.CASH)) == Decimal("15.00")


def test_a_cancelled_payment_cannot_be_received_and_a_received_one_cannot_be_cancelled(
    member, admin, distribution, basket_product
):
    payment = _pending(_order(member, distribution, basket_product, "cash"))
    payment_cancel(payment=payment, cancelled_by=admin.user)
    with pytest.raises(PaymentStateError):
        payment_receive(payment=payment, received_by=admin.user)
    other = MembershipFactory(market=member.market)
    received = payment_receive(
        payment=_pending(_order(other, distribution, basket_product, "cash")),
        received_by=admin.user,
    )
    with pytest.raises(PaymentStateError):
        payment_cancel(payment=received, cancelled_by=admin.user)


def test_a_basket_waits_for_the_on_site_payment_to_be_settled(
    member, admin, distribution, basket_product
):
    order = _order(member, distribution, basket_product, "on_site")
    assert basket_blockers(order)
    with pytest.raises(BasketNotReady):
        basket_validate(order=order, validated_by=admin.user)
    payment_receive(payment=_pending(order), received_by=admin.user, method="cash")
    assert basket_validate(order=order, validated_by=admin.user).validated_at is not None


def test_a_basket_with_a_transfer_on_its_way_can_be_validated(
    member, admin, distribution, basket_product
):
    order = _order(member, distribution, basket_product, "transfer")
    assert basket_blockers(order) == []
    basket_validate(order=order, validated_by=admin.user)
    assert _pending(order).method == "transfer"


def test_validating_every_basket_validates_the_distribution(
    member, admin, distribution, basket_product
):
    order = _order(member, distribution, basket_product, "cagnotte")
    distribution.status = DistributionStatus.CLOSED
    distribution.save()
    basket_validate(order=order, validated_by=admin.user)
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.VALIDATED


def test_validating_a_basket_while_orders_are_open_leaves_the_distribution_open(
    member, admin, distribution, basket_product
):
    order = _order(member, distribution, basket_product, "cagnotte")
    basket_validate(order=order, validated_by=admin.user)
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.OPEN
    assert distribution.is_open_for_orders()


def test_the_bulk_plan_stops_at_baskets_that_need_a_decision(
    market, admin, distribution, basket_product
):
    members = [MembershipFactory(market=market) for _ in range(4)]
    cash = _order(members[0], distribution, basket_product, "cash")
    cheque = _order(members[1], distribution, basket_product, "cheque", quantity="2")
    undecided = _order(members[2], distribution, basket_product, "on_site")
    transfer = _order(members[3], distribution, basket_product, "transfer")

    plan = bulk_plan(distribution)
    assert [o for o, _ in plan.ready] == [cash, cheque]
    assert plan.to_receive == Decimal("45.00")
    assert dict(plan.blocked) == {
        undecided: ["moyen de paiement à préciser"],
        transfer: ["virement non reçu"],
    }

    bulk_validate(
        distribution=distribution,
        validated_by=admin.user,
        order_ids=[o.pk for o, _ in plan.ready],
        cheques={cheque.payments.get().pk: ("0001", "Crédit Agricole")},
    )
    for order in (cash, cheque, undecided, transfer):
        order.refresh_from_db()
    assert cash.is_validated and cheque.is_validated
    assert not undecided.is_validated and not transfer.is_validated
    assert Payment.objects.filter(status=PaymentStatus.RECEIVED).count() == 2
    call_command("check_ledger", stdout=StringIO())


def test_cash_count_keeps_the_float_and_the_counted_cash(admin, distribution):
    cash_count_record(
        distribution=distribution, counted_by=admin.user, opening_float=Decimal("50.00")
    )
    count = cash_count_record(
        distribution=distribution, counted_by=admin.user, counted=Decimal("95.00")
    )
    assert (count.opening_float, count.counted) == (Decimal("50.00"), Decimal("95.00"))


def test_a_second_payment_at_the_pickup_is_linked_to_the_order(
    member, admin, distribution, basket_product
):
    order = _order(member, distribution, basket_product, "cash", quantity="2")
    payment_receive(payment=_pending(order), received_by=admin.user, amount=Decimal("15.00"))
    second = payment_record(
        membership=member,
        method="cheque",
        amount=Decimal("15.00"),
        cheque_number="123",
        recorded_by=admin.user,
        order=order,
        idempotency_key="second",
    )
    assert (second.order, second.distribution, second.reference) == (
        order,
        distribution,
        order.reference,
    )
    assert client_account(member).held == Decimal("0.00")
