"""A payment recorded on its own is committed with its posting statement.

When `payment_record` opens the outermost atomic block, nothing follows its
posting: the statement goes with COMMIT in one round trip, so the market's
money account is held inside PostgreSQL only. These tests read what the
server was sent off the connection's protocol trace, and check that a
failure at COMMIT still writes nothing and leaves the connection usable.
"""

import tempfile
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from psycopg.pq import Trace

from payments.ledger import account_balance, client_account, market_account
from payments.ledger import accounts as accounts_module
from payments.models import Account, AccountKind, Payment, PaymentMethod, Transaction
from payments.services import payment_record
from tests.factories import MembershipFactory, UserFactory
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def sent_to_server(work) -> tuple[list[str], int]:
    """The statements PostgreSQL completed while ``work`` ran, and the round trips."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        try:
            work()
        finally:
            pgconn.untrace()
        trace.seek(0)
        server = [line.split("\t") for line in trace if line.startswith("B\t")]
    done = [m[3].strip(' "\n').split()[0] for m in server if m[2] == "CommandComplete"]
    return done, sum(1 for m in server if m[2] == "ReadyForQuery")


def record(member, by, amount="12.00"):
    return payment_record(
        membership=member, method=PaymentMethod.CASH, amount=Decimal(amount), recorded_by=by
    )


def balances(*accounts) -> list[Decimal]:
    return [account_balance(a) for a in accounts]


def test_a_payment_recorded_on_its_own_is_one_statement_in_one_round_trip(market, treasurer):
    member = MembershipFactory(market=market)
    record(member, treasurer.user)  # the accounts now known, the statement prepared
    record(member, treasurer.user)

    done, trips = sent_to_server(lambda: record(member, treasurer.user, "7.50"))

    assert (done, trips) == (["SELECT"], 1)  # no BEGIN, no COMMIT of its own
    assert not connection.in_atomic_block
    client, cash = client_account(member), market_account(market, AccountKind.CASH)
    assert balances(client, cash) == [Decimal("-31.50"), Decimal("31.50")]
    assert Payment.objects.filter(membership=member).count() == 3


def test_a_payment_after_a_lookup_is_committed_in_the_round_trip_of_its_statement(
    market, treasurer
):
    record(MembershipFactory(market=market), treasurer.user)  # the cash box known
    member = MembershipFactory(market=market)  # its client account not known yet

    done, trips = sent_to_server(lambda: record(member, treasurer.user))

    assert done[0] == "BEGIN" and done[-2:] == ["SELECT", "COMMIT"]
    assert trips == len(done) - 1  # the statement and COMMIT share one round trip
    assert balances(client_account(member)) == [Decimal("-12.00")]


@pytest.mark.parametrize("known", [True, False], ids=["accounts known", "client looked up"])
def test_a_posting_refused_at_commit_writes_nothing_and_the_connection_goes_on(
    market, treasurer, known
):
    record(MembershipFactory(market=market), treasurer.user)
    member = MembershipFactory(market=market)
    if known:
        record(member, treasurer.user)
    gone = UserFactory()
    gone_pk = gone.pk
    gone.delete()
    gone.pk = gone_pk  # its row gone: the posting's "posted by" fails its key at COMMIT
    cash = market_account(market, AccountKind.CASH)
    before = (Transaction.objects.count(), Payment.objects.count(), balances(cash))

    with pytest.raises(IntegrityError):
        record(member, gone)

    assert (Transaction.objects.count(), Payment.objects.count(), balances(cash)) == before
    if not known:  # the client's account, looked up in the failed transaction, not remembered
        assert not [k for k in accounts_module._IDS if k[-1] == member.pk]
    record(member, treasurer.user)
    assert Payment.objects.filter(membership=member).count() == 1 + known


def test_inside_an_enclosing_block_the_posting_leaves_the_commit_to_it(market, treasurer):
    member = MembershipFactory(market=market)
    record(member, treasurer.user)

    with pytest.raises(RuntimeError), transaction.atomic():
        record(member, treasurer.user)
        raise RuntimeError  # the enclosing block fails after the posting

    assert Payment.objects.filter(membership=member).count() == 1
    assert balances(client_account(member)) == [Decimal("-12.00")]


def test_a_payment_does_not_wait_on_the_row_of_its_money_account(market, treasurer):
    member = MembershipFactory(market=market)
    record(member, treasurer.user)
    cash = market_account(market, AccountKind.CASH)
    held, release = threading.Event(), threading.Event()

    def hold_the_cash_box_row(_):  # as a posting updating the row would hold it
        with transaction.atomic():
            Account.objects.select_for_update(no_key=True).get(pk=cash.pk)
            held.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=run_together, args=(hold_the_cash_box_row, 1))
    holder.start()
    try:
        assert held.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # waiting on the row would fail the posting
        record(member, treasurer.user, "3.00")
    finally:
        release.set()
        holder.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert balances(cash) == [Decimal("15.00")]
