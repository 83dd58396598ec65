"""Storing an imported bank statement: each bank line once, the file as it was."""

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from payments.bank import ParsedLine, ParsedStatement, StatementError
from payments.bank.store import line_fingerprints, statement_seen, statement_store
from payments.models import BankLine, BankStatement
from tests.factories import MarketFactory
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

IBAN = "FR7630006000011234567890189"
DAY = datetime.date(2026, 12, 1)


def line(day: int, amount: str, label: str, bank_id: str = "", **extra) -> ParsedLine:
    return ParsedLine(
        booked_on=DAY.replace(day=day),
        value_on=None,
        amount=Decimal(amount),
        label=label,
        bank_id=bank_id,
        payer=extra.get("payer", ""),
        reference=extra.get("reference", ""),
    )


def statement(*lines: ParsedLine, opening="100.00", closing="", account=IBAN) -> ParsedStatement:
    """``closing``: the opening plus the lines unless given (None: the file has none)."""
    total = sum((item.amount for item in lines), Decimal("0.00"))
    if closing == "":
        closing = Decimal(opening) + total
    return ParsedStatement(
        format="camt053",
        account=account,
        currency="EUR",
        opening=None if opening is None else Decimal(opening),
        closing=None if closing is None else Decimal(closing),
        opening_on=DAY,
        closing_on=DAY.replace(day=7),
        lines=tuple(lines),
    )


def store(market, parsed, user, data=b"file"):
    return statement_store(
        market=market, parsed=parsed, data=data, filename="releve.xml", imported_by=user
    )


@pytest.fixture
def market(db):
    return MarketFactory(iban="FR76 3000 6000 0112 3456 7890 189")


WEEK = [
    line(2, "25.00", "VIR SEPA DUPONT MARIE MOTIF 2026-12-08-0012", payer="DUPONT MARIE"),
    line(3, "-4.50", "FRAIS TENUE DE COMPTE"),
    line(3, "12.00", "REMISE CB 0412"),
    line(3, "12.00", "REMISE CB 0412"),  # the same again, the same day: another line
]


def test_a_statement_stores_each_of_its_lines(market, treasurer):
    saved, new = store(market, statement(*WEEK), treasurer.user)

    assert new == 4
    assert [(ln.booked_on.day, ln.amount) for ln in saved.lines.order_by("position")] == [
        (2, Decimal("25.00")),
        (3, Decimal("-4.50")),
        (3, Decimal("12.00")),
        (3, Decimal("12.00")),
    ]
    assert saved.lines.get(position=1).payer == "DUPONT MARIE"
    assert (saved.lines_in_file, saved.lines_total) == (4, Decimal("44.50"))
    assert saved.balances_agree is True
    assert saved.account == IBAN and saved.imported_by == treasurer.user


def test_the_same_statement_imported_again_adds_no_line(market, treasurer):
    store(market, statement(*WEEK), treasurer.user)

    again, new = store(market, statement(*WEEK), treasurer.user, data=b"other bytes")

    assert new == 0
    assert BankLine.objects.filter(market=market).count() == 4
    assert BankStatement.objects.filter(market=market).count() == 2  # the import is recorded


def test_an_overlapping_statement_adds_only_the_lines_not_yet_stored(market, treasurer):
    store(market, statement(*WEEK[:3]), treasurer.user)  # one of the two card remittances

    later = statement(*WEEK[1:], line(5, "30.00", "VIR SEPA MARTIN PAUL"))
    _saved, new = store(market, later, treasurer.user)

    assert new == 2  # the second card remittance of the 3rd, and the transfer of the 5th
    assert BankLine.objects.filter(market=market).count() == 5


def test_lines_with_the_banks_ids_are_known_by_them_whatever_their_label(market, treasurer):
    store(market, statement(line(2, "25.00", "VIR DUPONT", bank_id="AB-1")), treasurer.user)

    relabelled = statement(line(2, "25.00", "VIR SEPA DUPONT MARIE", bank_id="AB-1"))
    _saved, new = store(market, relabelled, treasurer.user)

    assert new == 0


def test_fingerprints_ignore_spaces_and_case_and_count_identical_lines():
    keys = line_fingerprints(
        [line(3, "12.00", "REMISE  CB"), line(3, "12.00", "remise cb"), line(3, "12.00", "X")]
    )

    assert keys[0] != keys[1]  # the first and the second of two identical lines
    assert line_fingerprints([line(3, "12.00", "Remise CB")]) == keys[:1]
    assert len(set(keys)) == 3


def test_two_markets_keep_their_own_lines(market, treasurer):
    other = MarketFactory()
    store(market, statement(*WEEK), treasurer.user)

    _saved, new = store(other, statement(*WEEK, account=""), treasurer.user)

    assert new == 4


def test_a_statement_of_another_account_is_refused_and_nothing_is_stored(market, treasurer):
    with pytest.raises(StatementError, match="FR1420041010050500013M02606"):
        store(market, statement(*WEEK, account="FR1420041010050500013M02606"), treasurer.user)

    assert not BankStatement.objects.exists() and not BankLine.objects.exists()


def test_balances_that_do_not_add_up_are_told(market, treasurer):
    saved, _new = store(market, statement(*WEEK, closing="150.00"), treasurer.user)
    assert saved.balances_agree is False

    without, _new = store(market, statement(*WEEK, opening=None, closing=None), treasurer.user)
    assert without.balances_agree is None


def test_a_file_already_imported_is_found_by_its_content(market, treasurer):
    first, _new = store(market, statement(*WEEK), treasurer.user, data=b"<Document/>")

    assert statement_seen(market, b"<Document/>") == first
    assert statement_seen(market, b"<Document />") is None
    assert statement_seen(MarketFactory(), b"<Document/>") is None


@pytest.mark.parametrize("sql", ["UPDATE {} SET label = 'x'", "DELETE FROM {}"])
def test_bank_lines_are_append_only(market, treasurer, sql):
    store(market, statement(*WEEK), treasurer.user)

    with pytest.raises(DatabaseError, match="not allowed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql.format(BankLine._meta.db_table))
    assert BankLine.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_statement_at_once_store_each_line_once(market, treasurer):
    parsed = statement(*WEEK)

    results, errors = run_together(lambda i: store(market, parsed, treasurer.user)[1], 2)

    assert errors == []
    assert sum(results) == 4  # each line new to one of the two imports only
    assert BankLine.objects.filter(market=market).count() == 4
