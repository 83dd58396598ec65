"""``manage.py check_ledger``: the audit that finds any drift in the books.

To give it something to find, some tests write rows around the posting
service, as a hand-written SQL fix or a bug would. Where the database itself
would refuse those rows, its rule is lifted first, inside the test's own
transaction: PostgreSQL's DDL is transactional, so the rollback that ends
every test restores the rule whatever happens in between, and nothing bad is
ever committed.
"""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import F

from accounts.models import Membership
from payments.ledger import (
    InvalidAmountError,
    Leg,
    account_balance,
    client_account,
    market_account,
    sales_account,
    transaction_post,
)
from payments.models import (
    Account,
    AccountKind,
    BalanceSlot,
    Entry,
    PaymentMethod,
    Transaction,
    TransactionKind,
)
from payments.services import payment_record
from tests.factories import MembershipFactory


def check_ledger(*args) -> str:
    out = StringIO()
    call_command("check_ledger", *args, stdout=out)
    return out.getvalue()


def check_ledger_finds_drift(*args) -> str:
    out = StringIO()
    with pytest.raises(CommandError, match="Ledger drift"):
        call_command("check_ledger", *args, stdout=out)
    return out.getvalue()


def order_post(membership, amount: Decimal):
    market = membership.market
    legs = [Leg(client_account(membership), amount), Leg(sales_account(market), -amount)]
    txn, _ = transaction_post(market=market, kind=TransactionKind.ORDER, label="Panier", legs=legs)
    return txn


def write_around_the_service(market, *legs: tuple[Account, Decimal]) -> Transaction:
    """A transaction written straight to the tables; balances are kept in step."""
    txn = Transaction.objects.create(market=market, kind=TransactionKind.ORDER, label="À la main")
    for account, amount in legs:
        Entry.objects.create(transaction=txn, account=account, amount=amount)
        Account.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
    return txn


@pytest.fixture
def books(member, other_admin):
    """Two markets' books: 2 markets, 3 transactions, 6 entries, 5 accounts."""
    payment_record(
        membership=member, method=PaymentMethod.CASH, amount=Decimal("20.00"), recorded_by=None
    )
    order_post(member, Decimal("12.50"))
    payment_record(
        membership=other_admin, method=PaymentMethod.CASH, amount=Decimal("5.00"), recorded_by=None
    )


def _settle_pending_checks(cursor) -> None:
    # PostgreSQL will not ALTER a table with deferred checks still pending
    # (rows posted earlier in the test): run them now, then defer again.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.fixture
def without_balance_triggers(db):
    """Lift the deferred "entries sum to zero" triggers.

    They must really be lifted, not just left waiting for a COMMIT that never
    comes: Django runs deferred checks before rolling a test back.
    """
    with connection.cursor() as cursor:
        _settle_pending_checks(cursor)
        cursor.execute("ALTER TABLE payments_entry DISABLE TRIGGER ledger_entry_balanced")
        cursor.execute(
            "ALTER TABLE payments_transaction DISABLE TRIGGER ledger_transaction_balanced"
        )


@pytest.fixture
def without_zero_entry_check(db):
    """Lift the CHECK constraint that forbids zero entries."""
    with connection.cursor() as cursor:
        _settle_pending_checks(cursor)
        cursor.execute("ALTER TABLE payments_entry DROP CONSTRAINT entry_amount_not_zero")


def test_a_clean_ledger_is_reported_ok_with_what_was_checked(books):
    output = check_ledger()

    assert "Ledger OK: 2 markets, 3 transactions, 6 entries, 5 accounts" in output


def test_a_drifted_cached_balance_is_reported_with_its_account(books, member):
    account = client_account(member)
    Account.objects.filter(pk=account.pk).update(balance=F("balance") + Decimal("0.01"))

    output = check_ledger_finds_drift()

    assert f"Account #{account.pk} « {account.name} »" in output
    assert "cached balance -7.49, entries sum to -7.50" in output
    assert "Ledger OK" not in output


def test_a_drifted_part_of_a_shared_accounts_balance_is_reported(books, member):
    cash = market_account(member.market, AccountKind.CASH)
    assert account_balance(cash) == Decimal("20.00")  # all of it in the cash box's parts
    BalanceSlot.objects.filter(account=cash).update(balance=F("balance") - Decimal("0.01"))

    output = check_ledger_finds_drift()

    assert f"Account #{cash.pk} « {cash.name} »" in output
    assert "cached balance 19.99, entries sum to 20.00" in output


def test_an_account_without_entries_must_have_a_zero_balance(member):
    account = client_account(member)
    Account.objects.filter(pk=account.pk).update(balance=Decimal("5.00"))

    output = check_ledger_finds_drift()

    assert f"Account #{account.pk}" in output
    assert "entries sum to 0.00" in output


def test_drift_makes_the_command_exit_with_a_non_zero_status(books, member, capsys):
    Account.objects.filter(pk=client_account(member).pk).update(balance=Decimal("0.00"))

    with pytest.raises(SystemExit) as excinfo:
        ManagementUtility(["manage.py", "check_ledger"]).execute()

    assert excinfo.value.code == 1
    assert "Ledger drift: 1 problem(s) found." in capsys.readouterr().err


def test_an_unbalanced_transaction_is_reported(books, member, without_balance_triggers):
    txn = write_around_the_service(
        member.market,
        (client_account(member), Decimal("10.00")),
        (sales_account(member.market), Decimal("-9.99")),
    )

    output = check_ledger_finds_drift()

    assert f"Transaction #{txn.pk} (montreuil) does not balance: entries: 2, sum: 0.01 " in output


def test_a_transaction_with_a_single_entry_is_reported(member, without_balance_triggers):
    txn = write_around_the_service(member.market, (client_account(member), Decimal("10.00")))

    output = check_ledger_finds_drift()

    assert f"Transaction #{txn.pk} (montreuil) does not balance: entries: 1," in output


def test_a_zero_entry_is_reported(books, member, without_zero_entry_check):
    txn = order_post(member, Decimal("3.00"))
    entry = Entry.objects.create(transaction=txn, account=client_account(member), amount=0)

    output = check_ledger_finds_drift()

    assert f"Entry #{entry.pk} (transaction #{txn.pk}" in output


def test_the_posting_service_refuses_a_third_decimal(member):
    with pytest.raises(InvalidAmountError):
        order_post(member, Decimal("1.005"))

    assert not Transaction.objects.exists()


def test_a_third_decimal_written_around_the_service_never_hides_in_the_books(member):
    txn = write_around_the_service(
        member.market,
        (client_account(member), Decimal("1.005")),
        (sales_account(member.market), Decimal("-1.005")),
    )

    # numeric(14, 2) rounds to the cent as it writes, entries and cached
    # balances alike: what is stored is two valid amounts that balance.
    stored = Entry.objects.filter(transaction=txn).values_list("amount", flat=True)
    assert sorted(stored) == [Decimal("-1.01"), Decimal("1.01")]
    assert client_account(member).balance == Decimal("1.01")
    assert "Ledger OK" in check_ledger()


def test_a_client_account_left_in_another_market_than_its_membership_is_reported(
    books, member, other_market
):
    # What moving a membership to another market (in the Django admin) used to leave.
    account = client_account(member)
    Membership.objects.filter(pk=member.pk).update(market=other_market)

    output = check_ledger_finds_drift()

    assert (
        f"Client account #{account.pk} « {account.name} » is in market montreuil, "
        f"but its membership #{member.pk} is in lilas." in output
    )


def test_an_entry_on_another_markets_account_is_reported(member, other_admin):
    stranger = client_account(other_admin)
    txn = write_around_the_service(
        member.market, (client_account(member), Decimal("4.00")), (stranger, Decimal("-4.00"))
    )

    output = check_ledger_finds_drift()

    assert f"of transaction #{txn.pk} (montreuil) posts to account #{stranger.pk}" in output
    assert "of another market (lilas)" in output


def test_the_market_option_checks_that_market_only(books, other_admin):
    Account.objects.filter(pk=client_account(other_admin).pk).update(balance=Decimal("1.00"))

    output = check_ledger("--market", "montreuil")
    drift = check_ledger_finds_drift("--market", "lilas")

    assert "Ledger OK: 1 markets, 2 transactions, 4 entries, 3 accounts" in output
    assert "(lilas)" in drift


def test_an_unknown_market_is_an_error(db):
    with pytest.raises(CommandError, match="No market with slug 'nulle-part'"):
        call_command("check_ledger", "--market", "nulle-part", stdout=StringIO())


def test_problems_beyond_the_limit_are_counted_not_listed(market):
    accounts = [client_account(MembershipFactory(market=market)) for _ in range(4)]
    Account.objects.filter(pk__in=[a.pk for a in accounts]).update(balance=Decimal("1.00"))

    output = check_ledger_finds_drift("--limit", "1")

    assert output.count("cached balance 1.00") == 1
    assert "… and 3 more like this." in output


def test_cents_that_floating_point_cannot_add_exactly_still_balance(member):
    # 0.10 + 0.20 - 0.30 is not 0 in binary floating point: the books are
    # summed as decimals, and are right.
    client, sales = client_account(member), sales_account(member.market)
    for _ in range(10):
        legs = [
            Leg(client, Decimal("0.10")),
            Leg(client, Decimal("0.20")),
            Leg(sales, Decimal("-0.30")),
        ]
        transaction_post(market=member.market, kind=TransactionKind.ORDER, label="x", legs=legs)

    assert "Ledger OK" in check_ledger()
