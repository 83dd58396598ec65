"""Many postings in one statement (`payments.ledger.batch`)."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from payments.ledger import (
    LedgerError,
    Leg,
    Posting,
    UnbalancedTransactionError,
    account_balance,
    client_account,
    market_account,
    transaction_post,
    transactions_post_batch,
)
from payments.models import AccountKind, Entry, Transaction, TransactionKind
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _posting(client, cash, key: str, amount: str = "5.00") -> Posting:
    amount = Decimal(amount)
    return Posting(
        kind=TransactionKind.PAYMENT,
        label="Espèces",
        legs=[Leg(cash, amount), Leg(client, -amount)],
        idempotency_key=key,
        date=timezone.localdate(),
    )


def test_a_batch_posts_each_posting_as_its_own_transaction_and_skips_a_key_taken(market, admin):
    clients = [client_account(MembershipFactory(market=market)) for _ in range(3)]
    cash = market_account(market, AccountKind.CASH)
    earlier, _ = transaction_post(
        market=market,
        kind=TransactionKind.PAYMENT,
        label="Espèces",
        legs=[Leg(cash, Decimal("5.00")), Leg(clients[0], Decimal("-5.00"))],
        idempotency_key="k0",
    )
    postings = [_posting(client, cash, f"k{n}") for n, client in enumerate(clients)]

    with transaction.atomic():
        posted = transactions_post_batch(market=market, postings=postings, posted_by=admin.user)

    assert posted["k0"] == (earlier, False)
    assert [posted[key][1] for key in ("k1", "k2")] == [True, True]
    assert Transaction.objects.count() == 3
    new = Transaction.objects.get(pk=posted["k1"][0].pk)
    assert (new.created_by, new.idempotency_key) == (admin.user, "k1")
    assert Entry.objects.filter(transaction=new).count() == 2
    assert account_balance(cash) == Decimal("15.00")  # the key taken added nothing again
    assert [client_account(c.membership).held for c in clients] == [Decimal("5.00")] * 3
    call_command("check_ledger", stdout=io.StringIO())


@pytest.mark.parametrize("keys", [["a", "a"], ["a", ""]])
def test_a_batch_without_a_key_of_its_own_per_posting_writes_nothing(market, keys):
    client = client_account(MembershipFactory(market=market))
    cash = market_account(market, AccountKind.CASH)

    with pytest.raises(LedgerError):
        transactions_post_batch(market=market, postings=[_posting(client, cash, k) for k in keys])

    assert not Transaction.objects.exists()


def test_an_unbalanced_posting_refuses_the_whole_batch(market):
    client = client_account(MembershipFactory(market=market))
    cash = market_account(market, AccountKind.CASH)
    lopsided = Posting(
        kind=TransactionKind.PAYMENT,
        label="Espèces",
        legs=[Leg(cash, Decimal("5.00")), Leg(client, Decimal("-4.00"))],
        idempotency_key="b",
        date=timezone.localdate(),
    )

    with pytest.raises(UnbalancedTransactionError):
        transactions_post_batch(market=market, postings=[_posting(client, cash, "a"), lopsided])

    assert not Transaction.objects.exists()
    assert account_balance(cash) == Decimal("0.00")
