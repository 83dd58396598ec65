"""Checkouts racing each other on real PostgreSQL connections.

Each thread has its own database connection (Django keeps one per thread); a
barrier releases them together so that their checkouts overlap.
"""

import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Membership
from distributions.models import Distribution
from orders.models import Order, Unit
from orders.services import CheckoutError, basket_read, order_checkout
from payments.ledger import client_account
from payments.models import Payment, Transaction, TransactionKind
from payments.services import opening_balance_record
from tests.factories import MarketFactory, MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NBSP = "\u00a0"


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


def checkout_in_thread(membership_id, distribution_id, product, choice, token):
    """Check out with this thread's own copies of the rows, as a request would."""
    membership = Membership.objects.select_related("market", "user").get(pk=membership_id)
    distribution = Distribution.objects.get(pk=distribution_id)
    return order_checkout(
        membership=membership,
        distribution=distribution,
        lines=basket_read(membership.market, {str(product.pk): "1"}),
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
        f"Votre solde (8,00{NBSP}€) ne couvre pas cette commande (12,00{NBSP}€) : "
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
