"""The posting service, the client-account services, and the database's own guards."""

from decimal import Decimal

import psycopg.errors
import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction

from payments.ledger import (
    AlreadyReversedError,
    CrossMarketError,
    InsufficientBalanceError,
    InvalidAmountError,
    LedgerError,
    Leg,
    UnbalancedTransactionError,
    account_balance,
    client_account,
    market_account,
    sales_account,
    transaction_post,
    transaction_reverse,
)
from payments.models import (
    Account,
    AccountKind,
    Entry,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Transaction,
    TransactionKind,
)
from payments.services import opening_balance_record, payment_record, transaction_correct


def order_post(membership, amount: Decimal, **kwargs):
    """Post an order: the client is debited, sales credited."""
    market = membership.market
    return transaction_post(
        market=market,
        kind=TransactionKind.ORDER,
        label="Panier",
        legs=[Leg(client_account(membership), amount), Leg(sales_account(market), -amount)],
        **kwargs,
    )


def opening_post(membership, amount: Decimal):
    """Give the client ``amount`` to start with (negative: a debt)."""
    opening_balance_record(membership=membership, amount=amount, label="Reprise", recorded_by=None)


def refreshed(account: Account) -> Account:
    account.refresh_from_db()
    return account


def entries_sum(account: Account) -> Decimal:
    return sum((e.amount for e in Entry.objects.filter(account=account)), Decimal("0.00"))


# Posting


def test_posting_updates_the_cached_balances(member):
    opening_post(member, Decimal("20.00"))
    order_post(member, Decimal("12.50"))

    client, sales = refreshed(client_account(member)), refreshed(sales_account(member.market))
    assert client.held == Decimal("7.50")
    assert account_balance(sales) == Decimal("-12.50")
    assert client.balance == entries_sum(client)
    assert account_balance(sales) == entries_sum(sales)


def test_posting_records_who_posted_it_and_when(member, admin):
    txn, created = order_post(member, Decimal("3.00"), posted_by=admin.user)

    assert created
    assert txn.created_by == admin.user
    assert txn.created_at is not None


def test_unbalanced_legs_are_refused_and_nothing_is_written(member):
    client, sales = client_account(member), sales_account(member.market)
    legs = [Leg(client, Decimal("10.00")), Leg(sales, Decimal("-9.99"))]

    with pytest.raises(UnbalancedTransactionError):
        transaction_post(market=member.market, kind=TransactionKind.ORDER, label="x", legs=legs)

    assert not Transaction.objects.exists()
    assert refreshed(client).balance == 0


def test_a_single_leg_is_refused(member):
    legs = [Leg(client_account(member), Decimal("10.00"))]

    with pytest.raises(UnbalancedTransactionError):
        transaction_post(market=member.market, kind=TransactionKind.ORDER, label="x", legs=legs)


@pytest.mark.parametrize(
    "amount",
    [Decimal("0"), Decimal("0.00"), 1.5, Decimal("1.005"), Decimal("NaN"), 2],
    ids=["zero", "zero-cents", "float", "three-decimals", "nan", "int"],
)
def test_amounts_that_are_not_two_decimal_non_zero_decimals_are_refused(member, amount):
    legs = [Leg(client_account(member), amount), Leg(sales_account(member.market), -amount)]

    with pytest.raises(InvalidAmountError):
        transaction_post(market=member.market, kind=TransactionKind.ORDER, label="x", legs=legs)

    assert not Entry.objects.exists()


def test_an_account_of_another_market_is_refused(member, other_market):
    legs = [
        Leg(client_account(member), Decimal("5.00")),
        Leg(sales_account(other_market), Decimal("-5.00")),
    ]

    with pytest.raises(CrossMarketError):
        transaction_post(market=member.market, kind=TransactionKind.ORDER, label="x", legs=legs)

    assert not Transaction.objects.exists()


# Idempotency


def test_replaying_an_idempotency_key_returns_the_first_transaction_and_posts_nothing(member):
    first, created = order_post(member, Decimal("7.20"), idempotency_key="checkout-42")

    replay, replay_created = order_post(member, Decimal("7.20"), idempotency_key="checkout-42")

    assert created and not replay_created
    assert replay == first
    assert Entry.objects.count() == 2
    assert refreshed(client_account(member)).held == Decimal("-7.20")


def test_an_idempotency_key_is_unique_per_market_only(member, other_admin):
    _, created_here = order_post(member, Decimal("1.00"), idempotency_key="same-key")
    _, created_there = order_post(other_admin, Decimal("1.00"), idempotency_key="same-key")

    assert created_here and created_there


# Reversals


def test_a_reversal_posts_the_exact_opposite_and_keeps_the_original(member, admin):
    original, _ = order_post(member, Decimal("15.30"))

    reversal, created = transaction_reverse(
        txn=original, reason="Panier non retiré", posted_by=admin.user
    )

    assert created
    assert reversal.kind == TransactionKind.REVERSAL
    assert reversal.reverses == original
    assert reversal.reason == "Panier non retiré"
    opposite = {(e.account_id, -e.amount) for e in original.entries.all()}
    assert {(e.account_id, e.amount) for e in reversal.entries.all()} == opposite
    assert Transaction.objects.filter(pk=original.pk).exists()


def test_a_reversal_restores_the_balance(member):
    opening_post(member, Decimal("20.00"))
    original, _ = order_post(member, Decimal("15.30"))

    transaction_reverse(txn=original, reason="Erreur de saisie")

    assert refreshed(client_account(member)).held == Decimal("20.00")
    assert account_balance(sales_account(member.market)) == 0


def test_a_transaction_is_reversed_only_once(member):
    original, _ = order_post(member, Decimal("4.00"))
    transaction_reverse(txn=original, reason="Erreur")

    with pytest.raises(AlreadyReversedError):
        transaction_reverse(txn=original, reason="Erreur, encore")

    assert refreshed(client_account(member)).balance == 0


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reversal_needs_a_reason(member, reason):
    original, _ = order_post(member, Decimal("4.00"))

    with pytest.raises(LedgerError):
        transaction_reverse(txn=original, reason=reason)

    assert Transaction.objects.count() == 1


def test_a_reversal_cannot_itself_be_reversed(member):
    original, _ = order_post(member, Decimal("4.00"))
    reversal, _ = transaction_reverse(txn=original, reason="Erreur")

    with pytest.raises(LedgerError):
        transaction_reverse(txn=reversal, reason="Annuler l'annulation")

    assert Transaction.objects.count() == 2


# Floors


def test_a_posting_below_the_floor_is_refused_and_writes_nothing(member):
    opening_post(member, Decimal("5.00"))
    client = client_account(member)

    with pytest.raises(InsufficientBalanceError) as excinfo:
        order_post(member, Decimal("5.01"), floors={client: Decimal("0.00")})

    assert excinfo.value.available == Decimal("5.00")
    assert Transaction.objects.count() == 1
    assert refreshed(client).held == Decimal("5.00")


def test_a_posting_may_bring_a_client_exactly_to_the_floor(member):
    opening_post(member, Decimal("5.00"))
    client = client_account(member)

    order_post(member, Decimal("5.00"), floors={client: Decimal("0.00")})

    assert refreshed(client).held == 0


def test_a_posting_that_improves_a_balance_already_under_the_floor_passes(member):
    opening_post(member, Decimal("-10.00"))
    client = client_account(member)
    cash = market_account(member.market, AccountKind.CASH)

    transaction_post(
        market=member.market,
        kind=TransactionKind.PAYMENT,
        label="Espèces",
        legs=[Leg(cash, Decimal("4.00")), Leg(client, Decimal("-4.00"))],
        floors={client: Decimal("0.00")},
    )

    assert refreshed(client).held == Decimal("-6.00")


# Services


@pytest.mark.parametrize("amount", [Decimal("12.50"), Decimal("-8.40")], ids=["credit", "debt"])
def test_an_opening_balance_is_what_the_client_holds_afterwards(member, treasurer, amount):
    txn = opening_balance_record(
        membership=member, amount=amount, label="Reprise de solde", recorded_by=treasurer.user
    )

    assert txn.kind == TransactionKind.OPENING_BALANCE
    assert refreshed(client_account(member)).held == amount
    assert account_balance(market_account(member.market, AccountKind.OPENING)) == amount


def test_recording_a_payment_creates_a_received_payment_and_credits_the_client(member, treasurer):
    payment = payment_record(
        membership=member,
        method=PaymentMethod.CHEQUE,
        amount=Decimal("30.00"),
        recorded_by=treasurer.user,
        cheque_number="1234567",
    )

    assert payment.status == PaymentStatus.RECEIVED
    assert payment.received_by == treasurer.user
    assert payment.transaction.kind == TransactionKind.PAYMENT
    assert refreshed(client_account(member)).held == Decimal("30.00")
    assert account_balance(market_account(member.market, AccountKind.CHEQUES)) == Decimal("30.00")


def test_recording_a_payment_twice_with_the_same_key_creates_one_payment(member, treasurer):
    kwargs = dict(
        membership=member,
        method=PaymentMethod.CASH,
        amount=Decimal("9.90"),
        recorded_by=treasurer.user,
        idempotency_key="caisse-2025-05-17-12",
    )

    first = payment_record(**kwargs)
    second = payment_record(**kwargs)

    assert second == first
    assert Payment.objects.count() == 1
    assert refreshed(client_account(member)).held == Decimal("9.90")


def test_correcting_a_payment_reverses_it_and_cancels_the_payment(member, treasurer):
    payment = payment_record(
        membership=member,
        method=PaymentMethod.CASH,
        amount=Decimal("9.90"),
        recorded_by=treasurer.user,
    )

    reversal = transaction_correct(
        txn=payment.transaction, reason="Saisi deux fois", corrected_by=treasurer.user
    )

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    assert reversal.reverses == payment.transaction
    assert reversal.created_by == treasurer.user
    assert refreshed(client_account(member)).balance == 0


# The database's own guards


def test_the_database_refuses_a_zero_entry(member):
    txn, _ = order_post(member, Decimal("6.00"))

    with pytest.raises(IntegrityError, match="entry_amount_not_zero"), transaction.atomic():
        Entry.objects.create(
            transaction=txn, account=client_account(member), amount=Decimal("0.00")
        )

    assert txn.entries.count() == 2


APPEND_ONLY_STATEMENTS = {
    "update-entry": "UPDATE payments_entry SET amount = amount * 2",
    "delete-entry": "DELETE FROM payments_entry",
    "update-transaction": "UPDATE payments_transaction SET label = 'autre chose'",
    "delete-transaction": "DELETE FROM payments_transaction",
}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sql", APPEND_ONLY_STATEMENTS.values(), ids=APPEND_ONLY_STATEMENTS.keys())
def test_the_database_refuses_to_change_or_delete_posted_rows(member, sql):
    txn, _ = order_post(member, Decimal("6.00"))

    with pytest.raises(ProgrammingError) as excinfo, connection.cursor() as cursor:
        cursor.execute(sql)

    # The trigger raises insufficient_privilege, which psycopg maps to ProgrammingError.
    assert isinstance(excinfo.value.__cause__, psycopg.errors.InsufficientPrivilege)
    txn.refresh_from_db()
    assert txn.label == "Panier"
    assert sorted(e.amount for e in txn.entries.all()) == [Decimal("-6.00"), Decimal("6.00")]


def _assert_refused_at_commit(excinfo, message: str) -> None:
    # The trigger raises check_violation: psycopg's CheckViolation, an
    # IntegrityError, which Django re-raises as django.db.IntegrityError.
    assert excinfo.type is IntegrityError
    assert isinstance(excinfo.value.__cause__, psycopg.errors.CheckViolation)
    assert message in str(excinfo.value)
    assert not Transaction.objects.exists()
    assert not Entry.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_unbalanced_transaction_written_around_the_service_is_refused_at_commit(member):
    client, sales = client_account(member), sales_account(member.market)
    statements_ran = False

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        txn = Transaction.objects.create(
            market=member.market, kind=TransactionKind.ORDER, label="x"
        )
        Entry.objects.create(transaction=txn, account=client, amount=Decimal("10.00"))
        Entry.objects.create(transaction=txn, account=sales, amount=Decimal("-9.00"))
        statements_ran = True  # the trigger is deferred: each INSERT passed

    assert statements_ran
    _assert_refused_at_commit(excinfo, "unbalanced")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_transaction_with_a_single_entry_is_refused_at_commit(member):
    client = client_account(member)

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        txn = Transaction.objects.create(
            market=member.market, kind=TransactionKind.ORDER, label="x"
        )
        Entry.objects.create(transaction=txn, account=client, amount=Decimal("10.00"))

    _assert_refused_at_commit(excinfo, "has 1 entries")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_transaction_without_entries_inserted_in_raw_sql_is_refused_at_commit(member):
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO payments_transaction"
                " (market_id, kind, label, date, created_at, reason)"
                " VALUES (%s, 'order', 'x', CURRENT_DATE, NOW(), '')",
                [member.market.pk],
            )

    _assert_refused_at_commit(excinfo, "has 0 entries")


def test_a_floor_is_checked_on_a_client_account_only(member):
    # A shared account's balance is kept in parts that no one row holds.
    sales = sales_account(member.market)

    with pytest.raises(LedgerError, match="client account only"):
        order_post(member, Decimal("5.00"), floors={sales: Decimal("0.00")})

    assert not Transaction.objects.exists()
