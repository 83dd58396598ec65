"""Deadlocks and serialization failures never reach the caller of a service.

The lock order keeps them rare (`payments.ledger._lock_accounts`; rows locked
with ``of=("self",)`` so that a join locks nothing more); what is left is run
again by `retried_on_conflict`, at the outermost atomic block only.
"""

import threading
from decimal import Decimal

import psycopg.errors
import pytest
from django.db import OperationalError, ProgrammingError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Market
from distributions.day.bulk import bulk_validate
from distributions.day.pickup import basket_payment_receive, basket_refund, basket_validate
from orders.models import Unit
from orders.services import Wanted, basket_read, order_adjust, order_checkout
from payments.ledger import (
    Leg,
    client_account,
    market_account,
    retried_on_conflict,
    transaction_post,
)
from payments.models import Account, AccountKind, Payment, PaymentMethod, PaymentStatus, Transaction
from payments.services import payment_receive, payment_record, transaction_correct
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def conflict(error_class=psycopg.errors.DeadlockDetected) -> OperationalError:
    """What Django raises when PostgreSQL aborts a transaction on a conflict."""
    error = OperationalError("deadlock detected")
    error.__cause__ = error_class("deadlock detected")
    return error


def cash_payment(membership, amount="4.00"):
    market = membership.market
    return transaction_post(
        market=market,
        kind="payment",
        label="Espèces",
        legs=[
            Leg(market_account(market, AccountKind.CASH), Decimal(amount)),
            Leg(client_account(membership), -Decimal(amount)),
        ],
    )


def failing_first(times: int, error_class=psycopg.errors.DeadlockDetected):
    """A service that posts, then meets a conflict in its first ``times`` attempts."""
    calls = {"attempts": 0, "committed": 0}

    @retried_on_conflict
    def service(membership):
        calls["attempts"] += 1
        cash_payment(membership)
        transaction.on_commit(lambda: calls.__setitem__("committed", calls["committed"] + 1))
        if calls["attempts"] <= times:
            raise conflict(error_class)

    return service, calls


@pytest.mark.parametrize(
    "error_class", [psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure]
)
def test_a_block_aborted_by_a_conflict_is_run_again_and_takes_effect_once(member, error_class):
    service, calls = failing_first(1, error_class)

    service(member)

    assert calls == {"attempts": 2, "committed": 1}
    assert Transaction.objects.count() == 1
    assert client_account(member).held == Decimal("4.00")


def test_a_conflict_that_persists_reaches_the_caller_after_three_attempts(member):
    service, calls = failing_first(3)

    with pytest.raises(OperationalError):
        service(member)

    assert calls == {"attempts": 3, "committed": 0}
    assert not Transaction.objects.exists()


def test_inside_an_enclosing_block_the_conflict_goes_up_to_whoever_opened_it(member):
    service, calls = failing_first(1)

    with pytest.raises(OperationalError), transaction.atomic():
        service(member)

    assert calls["attempts"] == 1
    assert not Transaction.objects.exists()


def test_other_database_errors_are_not_run_again(member):
    attempts = []

    @retried_on_conflict
    def service():
        attempts.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    with pytest.raises(ProgrammingError):
        service()

    assert len(attempts) == 1


def test_confirming_a_payment_does_not_lock_its_market_row(member):
    payment = Payment.objects.create(
        market=member.market,
        membership=member,
        method=PaymentMethod.CASH,
        amount=Decimal("6.00"),
        status=PaymentStatus.PENDING,
    )
    locked, release = threading.Event(), threading.Event()

    def checkout_holding_the_market():  # as `orders.services._lock_market` does
        try:
            with transaction.atomic():
                Market.objects.select_for_update(no_key=True).get(pk=member.market.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=checkout_holding_the_market)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            payment_receive(payment=payment, received_by=None)
    finally:
        release.set()
        holder.join(timeout=10)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.RECEIVED


# Every row lock, on the rows it names only


def _locks_a_joined_table(sql: str) -> bool:
    """A FOR UPDATE / FOR NO KEY UPDATE over a join, without OF: it locks every
    joined row too (the market's, say), against the lock order."""
    head, _, clause = sql.rpartition(" FOR ")
    return " JOIN " in head and " OF " not in clause


def _money_flows(member, admin):
    market = member.market
    market.payment_methods = ["cash", "cheque", "cagnotte"]
    market.save()
    product = ProductFactory(
        producer=ProducerFactory(market=market), unit=Unit.PIECE, unit_price=Decimal("3.20")
    )
    distribution = DistributionFactory(market=market)
    order = order_checkout(
        membership=member,
        distribution=distribution,
        lines=basket_read(market, {product.pk: "3"}),
        choice="cash",
        token="a",
        notify=False,
    )
    order_adjust(
        order=order,
        wanted=[Wanted(product, Decimal("2"), product.unit_price)],
        reason="Un manquant",
        adjusted_by=admin.user,
        token="b",
    )
    basket_payment_receive(
        order=order,
        payment=order.payments.get(),
        received_by=admin.user,
        method="cash",
        amount=Decimal("10.00"),
    )
    basket_refund(order=order, amount=Decimal("1.00"), refunded_by=admin.user, idempotency_key="c")
    basket_validate(order=order, validated_by=admin.user)
    payment = payment_record(
        membership=member, method="cheque", amount=Decimal("8.00"), recorded_by=admin.user
    )
    transaction_correct(txn=payment.transaction, reason="Erreur", corrected_by=admin.user)
    bulk_validate(distribution=distribution, validated_by=admin.user, order_ids=[order.pk])


def test_no_money_flow_locks_a_row_it_only_joins(member, admin):
    with CaptureQueriesContext(connection) as queries:
        _money_flows(member, admin)

    locking = [q["sql"] for q in queries if " FOR UPDATE" in q["sql"] or " FOR NO KEY" in q["sql"]]
    assert len(locking) > 10
    assert [sql for sql in locking if _locks_a_joined_table(sql)] == []


def test_a_real_deadlock_between_two_services_is_resolved_by_running_one_again(member):
    cash = market_account(member.market, AccountKind.CASH)
    ids = [client_account(member).pk, cash.pk]
    both_hold_one = threading.Barrier(2)
    attempts = [0, 0]

    @retried_on_conflict
    def lock_both(i):  # thread 0 locks in id order, thread 1 against it
        attempts[i] += 1
        first, second = ids if i == 0 else ids[::-1]
        Account.objects.select_for_update().get(pk=first)
        if attempts[i] == 1:
            both_hold_one.wait(timeout=10)
        Account.objects.select_for_update().get(pk=second)
        return i

    results, errors = run_together(lock_both, threads=2)

    assert errors == []
    assert sorted(results) == [0, 1]
    assert sorted(attempts) == [1, 2]  # PostgreSQL aborted one; it ran again
