"""How many SQL statements one posting costs: a ceiling, so that it cannot creep back up.

Every statement is a round trip while the posting holds row locks: fewer of
them is what lets postings on a market's hot money accounts follow each other
quickly. The counts include the savepoints and exclude nothing.
"""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from payments.ledger import (
    AlreadyReversedError,
    InsufficientBalanceError,
    Leg,
    client_account,
    market_account,
    sales_account,
    transaction_post,
    transaction_reverse,
)
from payments.models import (
    AccountKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Transaction,
    TransactionKind,
)
from payments.services import payment_receive, payment_record
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

PAYMENT_RECORD_STATEMENTS = 6
PAYMENT_RECEIVE_STATEMENTS = 7
ORDER_POSTING_STATEMENTS = 2


def statements(work) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        work()
    return [query["sql"] for query in captured.captured_queries]


@pytest.fixture
def member(market):
    member = MembershipFactory(market=market)
    client_account(member)
    market_account(market, AccountKind.CASH)
    return member


def test_a_recorded_payment_costs_at_most_its_ceiling_of_statements(member, treasurer):
    def record():
        payment_record(
            membership=member,
            method=PaymentMethod.CASH,
            amount=Decimal("12.00"),
            recorded_by=treasurer.user,
        )

    record()  # the first posting of a process may look its accounts up
    sql = statements(record)
    assert len(sql) <= PAYMENT_RECORD_STATEMENTS
    assert Payment.objects.filter(status=PaymentStatus.RECEIVED).count() == 2


def test_a_received_payment_costs_at_most_its_ceiling_of_statements(member, treasurer):
    expected = [
        Payment.objects.create(
            market=member.market,
            membership=member,
            method=PaymentMethod.CASH,
            amount=Decimal("9.50"),
            status=PaymentStatus.PENDING,
            reference=f"P-{i}",
        )
        for i in range(2)
    ]
    payment_receive(payment=expected[0], received_by=treasurer.user)
    sql = statements(lambda: payment_receive(payment=expected[1], received_by=treasurer.user))
    assert len(sql) <= PAYMENT_RECEIVE_STATEMENTS
    expected[1].refresh_from_db()
    assert expected[1].status == PaymentStatus.RECEIVED


def test_an_order_posting_with_a_floor_costs_at_most_its_ceiling_of_statements(member):
    market = member.market
    client, sales = client_account(member), sales_account(market)

    def post():
        return transaction_post(
            market=market,
            kind=TransactionKind.ORDER,
            label="Panier",
            legs=[Leg(client, Decimal("8.00")), Leg(sales, Decimal("-8.00"))],
            floors={client: Decimal("-100.00")},
        )

    post()
    sql = statements(post)
    assert len(sql) <= ORDER_POSTING_STATEMENTS
    client.refresh_from_db()
    assert client.held == Decimal("-16.00")
    # The entries are written in the order of the legs (a history lists them so).
    txn, created = post()
    assert created
    assert list(txn.entries.order_by("pk").values_list("account_id", flat=True)) == [
        client.pk,
        sales.pk,
    ]


def test_a_refused_posting_without_its_own_savepoint_leaves_the_caller_free_to_go_on(member):
    # No savepoint any more: a refusal must come before the first write.
    market = member.market
    client, sales = client_account(member), sales_account(market)
    order = [Leg(client, Decimal("8.00")), Leg(sales, Decimal("-8.00"))]
    with transaction.atomic():
        with pytest.raises(InsufficientBalanceError):
            transaction_post(
                market=market,
                kind=TransactionKind.ORDER,
                label="Panier",
                legs=order,
                floors={client: Decimal("0.00")},
            )
        first, _ = transaction_post(
            market=market, kind=TransactionKind.ORDER, label="Panier", legs=order
        )
        with pytest.raises(AlreadyReversedError):
            for _ in range(2):
                transaction_reverse(txn=first, reason="Erreur de saisie")
        again, created = transaction_post(
            market=market, kind=TransactionKind.ORDER, label="Panier", legs=order
        )
    assert created
    assert Transaction.objects.filter(kind=TransactionKind.ORDER).count() == 2
    assert Transaction.objects.filter(kind=TransactionKind.REVERSAL).count() == 1
    client.refresh_from_db()
    assert client.held == Decimal("-8.00")
    call_command("check_ledger", stdout=StringIO())
