"""CFONB 120: 01 ancien solde, 04 mouvements with their 05 compléments, 07 nouveau solde."""

import datetime
from decimal import Decimal

import pytest

from payments.bank import ParsedLine, StatementError, statement_parse

from .builders import cfonb_balance, cfonb_complement, cfonb_movement


def _file(*records: str, newline: str = "\r\n") -> bytes:
    return (newline.join(records) + newline).encode("cp1252")


RECORDS = (
    cfonb_balance("01", "310126", -123456),
    cfonb_movement("030226", "040226", "VIR SEPA DUPRE HELENE", "0000123", 4250, "REF-0001"),
    cfonb_complement("LIB", "COMMANDE 17 MARCHÉ"),
    cfonb_complement("NPY", "Hélène Dupré"),
    cfonb_complement("RCN", "CMD-17"),
    cfonb_movement("050226", "050226", "PRLV SEPA EDF", "0000124", -1230, ""),
    cfonb_complement("NBE", "EDF"),
    cfonb_complement("MMO", "EUR2000000001230"),
    cfonb_balance("07", "280226", -120436),
)


def test_it_reads_balances_movements_and_their_complements():
    statement = statement_parse(_file(*RECORDS))
    assert statement.format == "cfonb120"
    assert statement.account == "300040001200012345678"
    assert statement.currency == "EUR"
    assert (statement.opening, statement.opening_on) == (
        Decimal("-1234.56"),
        datetime.date(2026, 1, 31),
    )
    assert (statement.closing, statement.closing_on) == (
        Decimal("-1204.36"),
        datetime.date(2026, 2, 28),
    )
    assert statement.lines == (
        ParsedLine(
            booked_on=datetime.date(2026, 2, 3),
            value_on=datetime.date(2026, 2, 4),
            amount=Decimal("42.50"),
            label="VIR SEPA DUPRE HELENE COMMANDE 17 MARCHÉ",
            bank_id="0000123",
            payer="Hélène Dupré",
            reference="REF-0001 CMD-17",
        ),
        ParsedLine(
            booked_on=datetime.date(2026, 2, 5),
            value_on=datetime.date(2026, 2, 5),
            amount=Decimal("-12.30"),
            label="PRLV SEPA EDF",
            bank_id="0000124",
            payer="EDF",
            reference="",
        ),
    )


def test_records_without_line_breaks_are_read_alike():
    assert statement_parse(_file(*RECORDS, newline="")) == statement_parse(_file(*RECORDS))


def test_an_unknown_overpunch_character_is_refused():
    broken = RECORDS[1][:103] + "X" + RECORDS[1][104:]
    with pytest.raises(StatementError, match="montant"):
        statement_parse(_file(RECORDS[0], broken, RECORDS[-1]))


def test_a_truncated_record_is_refused():
    with pytest.raises(StatementError, match="ligne 2"):
        statement_parse(_file(RECORDS[0], RECORDS[1][:80]))


def test_an_unknown_record_type_is_refused():
    with pytest.raises(StatementError, match="ligne 2"):
        statement_parse(_file(RECORDS[0], "09" + RECORDS[1][2:]))


def test_a_negative_amount_uses_the_j_to_r_letters():
    # -12,30 ends in 0: « } »; -1 234,56 ends in 6: « O ».
    assert RECORDS[5][90:104] == "0000000000123}"
    assert RECORDS[0][90:104] == "0000000012345O"
