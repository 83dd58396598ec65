"""Postings racing each other on real PostgreSQL connections.

Each thread gets its own database connection (Django keeps one per thread),
and a barrier releases them together so that their postings overlap.
"""

import logging
import random
from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from payments.ledger import (
    InsufficientBalanceError,
    Leg,
    account_balance,
    client_account,
    market_account,
    sales_account,
    transaction_post,
    with_balance,
)
from payments.models import (
    Account,
    AccountKind,
    Payment,
    PaymentMethod,
    Transaction,
    TransactionKind,
)
from payments.services import opening_balance_record, payment_record
from tests.factories import MarketFactory, MembershipFactory
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def assert_balances_match_entries(accounts) -> None:
    for account in with_balance(Account.objects.filter(pk__in=[a.pk for a in accounts])):
        total = account.entries.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
        assert account.cached_balance == total, account.name


def test_concurrent_postings_on_the_same_accounts_keep_every_balance_exact(market):
    clients = [client_account(MembershipFactory(market=market)) for _ in range(3)]
    cash = market_account(market, AccountKind.CASH)
    account_ids = [cash.pk] + [c.pk for c in clients]

    def post_many(i):
        rng = random.Random(i)
        accounts = Account.objects.in_bulk(account_ids)  # this thread's own copies
        posted = defaultdict(Decimal)
        for _ in range(25):
            cents = {pk: rng.randint(1, 5000) for pk in account_ids[1:]}
            legs = [Leg(accounts[pk], -Decimal(c) / 100) for pk, c in cents.items()]
            legs.append(Leg(accounts[cash.pk], Decimal(sum(cents.values())) / 100))
            # Legs in a different order each time: locks taken in leg order
            # instead of id order would deadlock here.
            rng.shuffle(legs)
            transaction_post(
                market=market, kind=TransactionKind.PAYMENT, label="Espèces", legs=legs
            )
            for leg in legs:
                posted[leg.account.pk] += leg.amount
        return posted

    results, errors = run_together(post_many, THREADS)

    assert errors == []
    assert Transaction.objects.count() == THREADS * 25
    for account in with_balance(Account.objects.filter(pk__in=account_ids)):
        assert account.cached_balance == sum(posted[account.pk] for posted in results)
    assert_balances_match_entries([cash, *clients])
    call_command("check_ledger", stdout=StringIO())


def test_two_orders_racing_for_the_same_credit_cannot_overdraw_it():
    market = MarketFactory(slug="sans-decouvert", allow_negative_balances=False)
    member = MembershipFactory(market=market)
    opening_balance_record(
        membership=member, amount=Decimal("10.00"), label="Reprise", recorded_by=None
    )
    client, sales = client_account(member), sales_account(market)

    def pay_from_balance(i):
        return transaction_post(
            market=market,
            kind=TransactionKind.ORDER,
            label=f"Panier {i}",
            legs=[Leg(client, Decimal("8.00")), Leg(sales, Decimal("-8.00"))],
            floors={client: Decimal("0.00")},
        )

    results, errors = run_together(pay_from_balance, threads=2)

    assert len(results) == 1
    assert [type(e) for e in errors] == [InsufficientBalanceError]
    client.refresh_from_db()
    assert client.held == Decimal("2.00")
    assert Transaction.objects.filter(kind=TransactionKind.ORDER).count() == 1


def test_concurrent_postings_with_the_same_idempotency_key_post_once(market, treasurer):
    member = MembershipFactory(market=market)
    market_account(market, AccountKind.CASH)

    def record(i):
        return payment_record(
            membership=member,
            method=PaymentMethod.CASH,
            amount=Decimal("12.00"),
            recorded_by=treasurer.user,
            idempotency_key="distribution-7-panier-3",
        ).pk

    results, errors = run_together(record, THREADS)

    assert errors == []
    assert len(set(results)) == 1
    assert Transaction.objects.count() == 1
    assert Payment.objects.count() == 1
    assert client_account(member).held == Decimal("12.00")


HOT_WORKERS = 16


def test_sixteen_workers_posting_on_the_same_cash_box_all_post_without_a_deadlock(
    market, treasurer, caplog
):
    # Every posting touches the market's one cash box (the hot row), a client
    # account, and for half of them a floor-checked order on another client.
    members = [MembershipFactory(market=market) for _ in range(HOT_WORKERS)]
    clients = [client_account(member) for member in members]
    for member in members:
        opening_balance_record(
            membership=member, amount=Decimal("50.00"), label="Reprise", recorded_by=None
        )
    cash, sales = market_account(market, AccountKind.CASH), sales_account(market)

    def post_many(i):
        rng = random.Random(i)
        for n in range(10):
            payment_record(
                membership=members[rng.randrange(HOT_WORKERS)],
                method=PaymentMethod.CASH,
                amount=Decimal(rng.randint(1, 3000)) / 100,
                recorded_by=treasurer.user,
                idempotency_key=f"caisse-{i}-{n}",
            )
            client = clients[rng.randrange(HOT_WORKERS)]
            transaction_post(
                market=market,
                kind=TransactionKind.ORDER,
                label=f"Panier {i}-{n}",
                legs=[Leg(client, Decimal("1.00")), Leg(sales, Decimal("-1.00"))],
                floors={client: Decimal("0.00")},
            )
        return i

    with caplog.at_level(logging.WARNING, logger="payments.ledger.posting"):
        results, errors = run_together(post_many, HOT_WORKERS)

    assert errors == []
    # Not even a deadlock retried out of sight: the locks are taken in one order.
    assert [r.getMessage() for r in caplog.records if r.name == "payments.ledger.posting"] == []
    assert sorted(results) == list(range(HOT_WORKERS))
    assert Payment.objects.filter(method=PaymentMethod.CASH).count() == HOT_WORKERS * 10
    assert Transaction.objects.filter(kind=TransactionKind.ORDER).count() == HOT_WORKERS * 10
    assert account_balance(cash) == Payment.objects.aggregate(total=Sum("amount"))["total"]
    assert_balances_match_entries([cash, sales, *clients])
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "Ledger OK" in out.getvalue()
