"""The database keeps the books whole against SQL that bypasses the service.

Row triggers guard UPDATE and DELETE (see test_ledger.py); these tests cover
what they cannot see: TRUNCATE, and entries added to a transaction that was
committed earlier. Both are written in raw SQL, as a hand-made fix would be.
"""

from decimal import Decimal
from io import StringIO

import psycopg.errors
import pytest
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import ProgrammingError, connection, transaction

from payments.ledger import Leg, client_account, sales_account, transaction_post
from payments.models import Account, Entry, Transaction, TransactionKind

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def order_post(membership, amount: Decimal) -> Transaction:
    market = membership.market
    legs = [Leg(client_account(membership), amount), Leg(sales_account(market), -amount)]
    txn, _ = transaction_post(market=market, kind=TransactionKind.ORDER, label="Panier", legs=legs)
    return txn


def run_sql(sql: str, params=None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def assert_refused_by_the_ledger(excinfo) -> None:
    # The triggers raise insufficient_privilege: psycopg's InsufficientPrivilege,
    # which Django re-raises as ProgrammingError.
    assert isinstance(excinfo.value.__cause__, psycopg.errors.InsufficientPrivilege)
    assert "ledger:" in str(excinfo.value)


TRUNCATE_STATEMENTS = {
    "entries": "TRUNCATE payments_entry",
    "transactions": "TRUNCATE payments_transaction CASCADE",
    "accounts": "TRUNCATE payments_account CASCADE",
    "all-three": "TRUNCATE payments_entry, payments_transaction, payments_account CASCADE",
}


@pytest.mark.parametrize("sql", TRUNCATE_STATEMENTS.values(), ids=TRUNCATE_STATEMENTS.keys())
def test_the_database_refuses_to_truncate_the_ledger(member, sql):
    order_post(member, Decimal("6.00"))

    with pytest.raises(ProgrammingError) as excinfo:
        run_sql(sql)

    assert_refused_by_the_ledger(excinfo)
    assert "TRUNCATE" in str(excinfo.value)
    assert (Transaction.objects.count(), Entry.objects.count()) == (1, 2)
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "1 transactions, 2 entries" in out.getvalue()


def test_truncate_is_refused_when_the_allowance_is_explicitly_off(member):
    order_post(member, Decimal("6.00"))

    with pytest.raises(ProgrammingError) as excinfo:
        run_sql("SET LOCAL cagette.allow_truncate = 'off'; TRUNCATE payments_entry")

    assert_refused_by_the_ledger(excinfo)
    assert Entry.objects.count() == 2


def test_balanced_entries_cannot_be_added_to_a_transaction_committed_earlier(member):
    txn = order_post(member, Decimal("6.00"))
    client, sales = client_account(member), sales_account(member.market)

    with pytest.raises(ProgrammingError) as excinfo:
        run_sql(
            "INSERT INTO payments_entry (transaction_id, account_id, amount)"
            " VALUES (%s, %s, 100.00), (%s, %s, -100.00)",
            [txn.pk, client.pk, txn.pk, sales.pk],
        )

    assert_refused_by_the_ledger(excinfo)
    assert f"transaction {txn.pk} is already committed" in str(excinfo.value)
    assert sorted(e.amount for e in txn.entries.all()) == [Decimal("-6.00"), Decimal("6.00")]


def test_entries_may_be_added_in_the_database_transaction_that_created_it(member):
    client, sales = client_account(member), sales_account(member.market)

    with transaction.atomic():
        txn = Transaction.objects.create(market=member.market, kind="order", label="x")
        with transaction.atomic():  # a savepoint: its own subtransaction id
            Entry.objects.create(transaction=txn, account=client, amount=Decimal("3.00"))
        Entry.objects.create(transaction=txn, account=sales, amount=Decimal("-3.00"))

    assert txn.entries.count() == 2


def test_a_transaction_cannot_claim_to_be_created_by_a_later_database_transaction(member):
    client, sales = client_account(member), sales_account(member.market)

    run_sql(
        "INSERT INTO payments_transaction"
        " (market_id, kind, label, date, created_at, reason, created_txid)"
        " SELECT %s, 'order', 'x', CURRENT_DATE, NOW(), '', txid_current() + 1;"
        " INSERT INTO payments_entry (transaction_id, account_id, amount)"
        " SELECT currval(pg_get_serial_sequence('payments_transaction', 'id')), a, m"
        " FROM (VALUES (%s, 1.00), (%s, -1.00)) AS legs(a, m)",
        [member.market.pk, client.pk, sales.pk],
    )
    txn = Transaction.objects.get(label="x")

    with pytest.raises(ProgrammingError) as excinfo:
        run_sql(
            "INSERT INTO payments_entry (transaction_id, account_id, amount)"
            " VALUES (%s, %s, 5.00), (%s, %s, -5.00)",
            [txn.pk, client.pk, txn.pk, sales.pk],
        )

    assert_refused_by_the_ledger(excinfo)
    assert Account.objects.get(pk=client.pk).entries.count() == 1


def test_the_test_suites_flush_may_still_empty_the_ledger(member):
    # What pytest-django runs after each transactional test (see tests/conftest.py).
    order_post(member, Decimal("6.00"))

    call_command("flush", interactive=False, verbosity=0)

    assert (Transaction.objects.count(), Entry.objects.count(), Account.objects.count()) == (
        0,
        0,
        0,
    )


def test_a_flush_without_the_allowance_is_refused(member):
    order_post(member, Decimal("6.00"))
    statements = connection.ops.sql_flush(
        no_style(), ["payments_entry", "payments_transaction"], allow_cascade=True
    )
    statements = [sql for sql in statements if "allow_truncate" not in sql]

    with pytest.raises(ProgrammingError) as excinfo:
        connection.ops.execute_sql_flush(statements)

    assert_refused_by_the_ledger(excinfo)
    assert Entry.objects.count() == 2
