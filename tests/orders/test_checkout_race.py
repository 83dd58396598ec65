"""Checkouts racing each other on real PostgreSQL connections.

Each thread has its own database connection (Django keeps one per thread); a
barrier releases them together so that their checkouts overlap.
"""

import threading
import time
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from distributions.models import Distribution
from orders.models import Order, Unit
from orders.services import CheckoutError, basket_read, order_checkout
from payments.ledger import client_account, market_account, sales_account
from payments.models import Account, AccountKind, Payment, Transaction, TransactionKind
from payments.services import opening_balance_record, payment_record
from tests.factories import MarketFactory, MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NBSP = "\u00a0"
# Long enough for the other thread to reach the lock it will wait on.
HOLD = 0.5


@pytest.fixture
def shop():
    market = MarketFactory(
        slug="sans-decouvert",
        allow_negative_balances=False,
        payment_methods=["cheque", "cash", "cagnotte"],
    )
    basket = ProductFactory(
        producer=ProducerFactory(market=market),
        name="Panier de légumes",
        unit=Unit.BASKET,
        unit_price=Decimal("12.00"),
    )
    return market, basket


def checkout_in_thread(membership_id, distribution_id, product, choice, token, quantity="1"):
    """Check out with this thread's own copies of the rows, as a request would."""
    membership = Membership.objects.select_related("market", "user").get(pk=membership_id)
    distribution = Distribution.objects.get(pk=distribution_id)
    return order_checkout(
        membership=membership,
        distribution=distribution,
        lines=basket_read(membership.market, {str(product.pk): quantity}),
        choice=choice,
        token=token,
        notify=False,
    )


def test_two_orders_paid_from_the_same_balance_cannot_both_pass_the_floor(shop):
    market, basket = shop
    member = MembershipFactory(market=market)
    opening_balance_record(
        membership=member, amount=Decimal("20.00"), label="Reprise", recorded_by=None
    )
    distributions = [DistributionFactory(market=market) for _ in range(2)]

    results, errors = run_together(
        lambda i: checkout_in_thread(
            member.pk, distributions[i].pk, basket, "cagnotte", uuid.uuid4().hex
        ),
        threads=2,
    )

    assert len(results) == 1
    assert [type(e) for e in errors] == [CheckoutError]
    assert errors[0].message == (
        f"Votre solde (8,00{NBSP}€) ne couvre pas cette commande (12,00{NBSP}€) : "
        "créditez votre compte d'abord."
    )
    assert client_account(member).held == Decimal("8.00")
    assert Order.objects.count() == 1
    assert Transaction.objects.filter(kind=TransactionKind.ORDER).count() == 1
    call_command("check_ledger", stdout=StringIO())


def test_the_same_checkout_sent_twice_at_once_records_one_order(shop):
    market, basket = shop
    member = MembershipFactory(market=market)
    distribution = DistributionFactory(market=market)
    token = uuid.uuid4().hex

    results, errors = run_together(
        lambda i: checkout_in_thread(member.pk, distribution.pk, basket, "cheque", token).pk,
        threads=2,
    )

    assert errors == []
    assert len(set(results)) == 1
    assert Order.objects.count() == 1
    assert Transaction.objects.count() == 1
    assert Payment.objects.count() == 1
    assert client_account(member).held == Decimal("-12.00")


def test_the_same_token_sent_at_once_with_two_baskets_records_one_of_them(shop):
    market, basket = shop
    member = MembershipFactory(market=market)
    distribution = DistributionFactory(market=market)
    token = uuid.uuid4().hex

    results, errors = run_together(
        lambda i: (
            checkout_in_thread(
                member.pk, distribution.pk, basket, "cheque", token, quantity=str(i + 1)
            ).pk
        ),
        threads=2,
    )

    assert errors == []
    assert len(set(results)) == 1
    order = Order.objects.get()
    txn = Transaction.objects.get()
    assert txn.idempotency_key == f"checkout:{distribution.pk}:{member.pk}:{token}"
    assert Payment.objects.get().amount == order.total
    assert client_account(member).held == -order.total


def test_a_checkout_and_a_cheque_recorded_for_the_same_client_at_once_both_succeed(shop):
    market, basket = shop
    member = MembershipFactory(market=market)
    distribution = DistributionFactory(market=market)
    client = client_account(member)
    market_account(market, AccountKind.CHEQUES)
    sales_account(market, basket.producer)
    account_locked = threading.Event()

    def record_cheque():
        membership = Membership.objects.select_related("market", "user").get(pk=member.pk)
        with transaction.atomic():
            # A posting locks the client's account first, then inserts its
            # transaction (which points at the market): the checkout takes
            # its market lock in between.
            Account.objects.select_for_update().get(pk=client.pk)
            account_locked.set()
            time.sleep(HOLD)
            return payment_record(
                membership=membership,
                method="cheque",
                amount=Decimal("30.00"),
                recorded_by=None,
                cheque_number="1234567",
            )

    def check_out():
        assert account_locked.wait(timeout=10)
        return checkout_in_thread(member.pk, distribution.pk, basket, "cheque", uuid.uuid4().hex)

    results, errors = run_together(lambda i: [record_cheque, check_out][i](), threads=2)

    assert errors == []
    assert len(results) == 2
    assert client_account(member).held == Decimal("18.00")
    assert Transaction.objects.filter(kind=TransactionKind.ORDER).count() == 1
    assert Transaction.objects.filter(kind=TransactionKind.PAYMENT).count() == 1
    call_command("check_ledger", stdout=StringIO())


def test_a_basket_validated_while_its_client_adds_to_it_takes_no_addition(shop):
    market, basket = shop
    member = MembershipFactory(market=market)
    distribution = DistributionFactory(market=market)
    order = checkout_in_thread(member.pk, distribution.pk, basket, "cheque", uuid.uuid4().hex)
    validating = threading.Event()

    def validate():
        with transaction.atomic():
            # What `basket_validate` does: lock the order, mark it validated.
            locked = Order.objects.select_for_update().get(pk=order.pk)
            locked.validated_at = timezone.now()
            locked.save(update_fields=["validated_at"])
            validating.set()
            time.sleep(HOLD)

    def add():
        assert validating.wait(timeout=10)
        checkout_in_thread(member.pk, distribution.pk, basket, "cheque", uuid.uuid4().hex, "2")

    results, errors = run_together(lambda i: [validate, add][i](), threads=2)

    assert [type(e) for e in errors] == [CheckoutError]
    assert errors[0].message == "Ce panier est déjà validé : il ne peut plus être modifié."
    order.refresh_from_db()
    assert order.validated_at is not None
    assert order.total == Decimal("12.00")
    assert order.lines.get().quantity == Decimal("1")
    assert Transaction.objects.count() == 1
    assert Payment.objects.count() == 1


def test_clients_checking_out_at_once_get_different_basket_numbers(shop):
    market, basket = shop
    members = [MembershipFactory(market=market) for _ in range(6)]
    distribution = DistributionFactory(market=market)

    results, errors = run_together(
        lambda i: (
            checkout_in_thread(
                members[i].pk, distribution.pk, basket, "cash", uuid.uuid4().hex
            ).number
        ),
        threads=6,
    )

    assert errors == []
    assert sorted(results) == [1, 2, 3, 4, 5, 6]
    assert Payment.objects.count() == 6
    call_command("check_ledger", stdout=StringIO())
