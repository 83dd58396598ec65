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
    account_balance,
    client_account,
    market_account,
    market_ref,
    sales_account,
    transaction_post,
    transaction_reverse,
)
from payments.ledger import accounts as accounts_module
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

PAYMENT_RECORD_STATEMENTS = 3
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


def test_a_recorded_payment_costs_at_most_its_ceiling_of_statements(
    member, treasurer, django_capture_on_commit_callbacks
):
    def record():
        payment_record(
            membership=member,
            method=PaymentMethod.CASH,
            amount=Decimal("12.00"),
            recorded_by=treasurer.user,
        )

    with django_capture_on_commit_callbacks(execute=True):
        record()  # the first posting of a process looks its accounts up, known once committed
    sql = statements(record)
    assert len(sql) <= PAYMENT_RECORD_STATEMENTS, sql  # known accounts: not looked up again
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


@pytest.mark.parametrize("remembered", ["a row that is gone", "another market's account"])
def test_a_remembered_account_that_is_not_its_row_any_more_is_read_again(
    member, treasurer, remembered, django_capture_on_commit_callbacks
):
    # A posting remembers its accounts' ids; if one is not the row it was (a
    # database restored, a row gone), the statement writes nothing and the
    # posting reads the account again, so the money goes where it belongs.
    cash = market_account(member.market, AccountKind.CASH)
    other_cash = market_account(MembershipFactory().market, AccountKind.CASH)
    with django_capture_on_commit_callbacks(execute=True):
        market_ref(member.market, AccountKind.CASH)  # remembered once committed
    key = next(k for k in accounts_module._IDS if k[1:3] == (member.market_id, "cash"))
    accounts_module._IDS[key] = 10**12 if remembered == "a row that is gone" else other_cash.pk

    with django_capture_on_commit_callbacks(execute=True):
        payment_record(
            membership=member,
            method=PaymentMethod.CASH,
            amount=Decimal("12.00"),
            recorded_by=treasurer.user,
        )

    assert [account_balance(cash), account_balance(other_cash)] == [Decimal("12.00"), Decimal("0")]
    assert accounts_module._IDS[key] == cash.pk
    assert Transaction.objects.filter(kind=TransactionKind.PAYMENT).count() == 1
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "Ledger OK" in out.getvalue()


def test_an_account_created_by_a_transaction_that_rolls_back_is_not_remembered(
    member, django_capture_on_commit_callbacks
):
    market = member.market
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            market_ref(market, AccountKind.CHEQUES)  # created now, then rolled back
            raise RuntimeError
        market_ref(market, AccountKind.BANK)  # created now, and kept
    remembered = {k[2] for k in accounts_module._IDS if k[1] == market.pk}
    assert remembered == {"bank"}


def test_a_payment_written_in_its_posting_statement_reads_back_as_it_was_recorded(
    member, treasurer
):
    recorded = payment_record(
        membership=member,
        method=PaymentMethod.CHEQUE,
        amount=Decimal("23.45"),
        recorded_by=treasurer.user,
        reference="CONTRAT-7",
        cheque_number="0001234",
        bank="Crédit Agricole",
    )

    stored = Payment.objects.select_related("transaction").get(pk=recorded.pk)
    fields = ("market_id", "membership_id", "method", "amount", "status", "reference")
    fields += ("cheque_number", "bank", "paid_on", "created_by_id", "received_by_id")
    assert [getattr(stored, f) for f in fields] == [getattr(recorded, f) for f in fields]
    assert stored.received_at == recorded.received_at and stored.created_at is not None
    assert stored.transaction == recorded.transaction
    assert stored.transaction.entries.count() == 2
