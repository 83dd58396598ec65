"""Bulk validation in chunks of baskets: each payment posted once, as its own
transaction, a chunk's postings in a few statements."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from distributions.day import bulk
from distributions.day.bulk import bulk_plan, bulk_validate
from orders.models import Order
from payments.ledger import (
    Leg,
    account_balance,
    client_account,
    market_account,
    sales_account,
    transaction_post,
)
from payments.models import AccountKind, Payment, PaymentStatus, Transaction, TransactionKind
from payments.services import payment_receive, transaction_correct
from tests.distributions.test_bulk_size import AMOUNT, build_baskets
from tests.factories_catalog import DistributionFactory
from tests.threads import run_together

pytestmark = pytest.mark.postgres


@pytest.fixture
def distribution(market):
    market.payment_methods = ["cash", "cheque", "card_terminal"]
    market.save()
    return DistributionFactory(market=market)


def _day(market, distribution, admin, count: int) -> list[Order]:
    """``count`` baskets, each order posted as the checkout posts it (the client debited)."""
    orders = build_baskets(market, distribution, count)
    sales = sales_account(market)
    for order in orders:
        transaction_post(
            market=market,
            kind=TransactionKind.ORDER,
            label=f"Commande {order.reference}",
            legs=[Leg(client_account(order.membership), AMOUNT), Leg(sales, -AMOUNT)],
            posted_by=admin.user,
            order=order,
        )
    return orders


def _validate_all(distribution, admin) -> bulk.BulkPlan:
    plan = bulk_plan(distribution)
    cheques = {p.pk: (f"9{p.pk}", "") for _o, ps in plan.ready for p in ps if not p.cheque_number}
    return bulk_validate(
        distribution=distribution,
        validated_by=admin.user,
        order_ids=plan.order_ids,
        payment_ids=plan.payment_ids,
        cheques=cheques,
    )


def _ledger_check() -> None:
    call_command("check_ledger", stdout=io.StringIO())  # exits non-zero on any drift


def _chunks(count: int) -> int:
    """How many chunks `bulk_validate` cuts ``count`` baskets into."""
    chunks, size = 0, 1
    while count > 0:
        chunks, count, size = chunks + 1, count - size, min(2 * size, bulk.CHUNK)
    return chunks


@pytest.mark.django_db
def test_a_day_validated_in_chunks_posts_each_payment_once_as_its_own_transaction(
    market, admin, distribution
):
    orders = _day(market, distribution, admin, 120)

    done = _validate_all(distribution, admin)

    assert len(done.ready) == 120 and not done.blocked and not done.later
    assert not Order.objects.filter(distribution=distribution, validated_at=None).exists()
    payments = Payment.objects.filter(order__in=orders)
    assert payments.filter(status=PaymentStatus.RECEIVED, received_by=admin.user).count() == 120
    posted = Transaction.objects.filter(kind=TransactionKind.PAYMENT)
    assert posted.count() == 120
    assert not posted.values("order").annotate(n=Count("pk")).filter(n__gt=1).exists()
    for payment in payments.select_related("transaction"):
        txn = payment.transaction
        assert (txn.idempotency_key, txn.order_id) == (f"payment:{payment.pk}", payment.order_id)
        assert txn.created_by == admin.user
        assert sorted(e.amount for e in txn.entries.all()) == [-AMOUNT, AMOUNT]
    assert account_balance(market_account(market, AccountKind.CASH)) == AMOUNT * 30
    assert account_balance(market_account(market, AccountKind.CHEQUES)) == AMOUNT * 60
    assert account_balance(market_account(market, AccountKind.CARD_TERMINAL)) == AMOUNT * 30
    assert client_account(orders[0].membership).held == Decimal("0.00")
    _ledger_check()


@pytest.mark.django_db
def test_one_payment_of_a_bulk_is_reversed_on_its_own(market, admin, distribution):
    orders = _day(market, distribution, admin, 120)
    _validate_all(distribution, admin)
    first, second = (Payment.objects.get(order=order) for order in orders[:2])

    transaction_correct(txn=first.transaction, reason="Erreur de caisse", corrected_by=admin.user)

    first.refresh_from_db()
    assert first.status == PaymentStatus.CANCELLED
    assert client_account(first.membership).held == -AMOUNT  # the debt is back
    assert client_account(second.membership).held == Decimal("0.00")
    second.refresh_from_db()
    assert second.status == PaymentStatus.RECEIVED
    assert account_balance(market_account(market, AccountKind.CASH)) == AMOUNT * 29
    _ledger_check()


@pytest.mark.django_db
def test_the_statements_of_a_bulk_grow_with_its_chunks_not_its_baskets(market, admin, distribution):
    _day(market, distribution, admin, 100)
    plan = bulk_plan(distribution)
    cheques = {p.pk: ("1", "") for p in Payment.objects.filter(cheque_number="")}

    with CaptureQueriesContext(connection) as queries:
        done = bulk_validate(
            distribution=distribution,
            validated_by=admin.user,
            order_ids=plan.order_ids,
            cheques=cheques,
        )

    assert len(done.ready) == 100
    # The plan, the distribution's status, and per chunk: the baskets locked
    # and read, their payments locked, the accounts, the postings, the payments,
    # the baskets read again and validated.
    assert _chunks(100) == 7
    assert len(queries) <= 10 + 14 * _chunks(100), len(queries)


@pytest.mark.django_db(transaction=True)
def test_a_bulk_racing_a_single_confirmation_of_its_payment_posts_it_once(
    market, admin, distribution
):
    orders = _day(market, distribution, admin, 30)
    cash = Payment.objects.get(order=orders[4])
    assert cash.method == "cash"

    def work(i):
        if i == 0:
            return _validate_all(distribution, admin)
        return payment_receive(payment=cash, received_by=admin.user)

    _results, errors = run_together(work, threads=4)

    assert errors == []
    assert Transaction.objects.filter(idempotency_key=f"payment:{cash.pk}").count() == 1
    assert Transaction.objects.filter(kind=TransactionKind.PAYMENT).count() == 30
    assert account_balance(market_account(market, AccountKind.CASH)) == AMOUNT * 8
    assert client_account(cash.membership).held == Decimal("0.00")
    assert not Order.objects.filter(distribution=distribution, validated_at=None).exists()
    _ledger_check()
