"""CAMT.053 statements, versions .02, .05 and .08, read exactly."""

import datetime
from decimal import Decimal

import pytest

from payments.bank import ParsedLine, StatementError, statement_parse

from .builders import camt_balance, camt_document, camt_party, camt_statement

IBAN = "FR76 3000 4005 6800 0123 4567 890"


def _credit_entry(version: str) -> str:
    return (
        '<Ntry><NtryRef>NREF-1</NtryRef><Amt Ccy="EUR">42.50</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        "<Sts>BOOK</Sts><BookgDt><Dt>2026-02-03</Dt></BookgDt><ValDt><Dt>2026-02-04</Dt></ValDt>"
        "<AcctSvcrRef>BANK-0001</AcctSvcrRef>"
        "<NtryDtls><TxDtls><Refs><EndToEndId>CMD-17</EndToEndId></Refs>"
        f"<RltdPties>{camt_party(version, 'Dbtr', 'Hélène  Dupré')}</RltdPties>"
        "<RmtInf><Ustrd>Commande 17</Ustrd><Ustrd>marché du jeudi</Ustrd></RmtInf>"
        "</TxDtls></NtryDtls><AddtlNtryInf>VIR SEPA  RECU /DE HELENE DUPRE</AddtlNtryInf></Ntry>"
    )


DEBIT_ENTRY = (
    '<Ntry><NtryRef>NREF-2</NtryRef><Amt Ccy="EUR">12.3</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
    "<BookgDt><DtTm>2026-02-05T00:30:00+01:00</DtTm></BookgDt>"
    "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs></TxDtls></NtryDtls>"
    "<AddtlNtryInf>PRLV SEPA EDF</AddtlNtryInf></Ntry>"
)

PENDING_ENTRY = (
    '<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>'
    "<BookgDt><Dt>2026-02-06</Dt></BookgDt><AddtlNtryInf>EN ATTENTE</AddtlNtryInf></Ntry>"
)


def _statement(version: str, balances: str | None = None) -> bytes:
    balances = balances or (
        camt_balance("OPBD", "1000.00", "CRDT", "2026-01-31")
        + camt_balance("CLBD", "1030.20", "CRDT", "2026-02-28")
    )
    entries = _credit_entry(version) + DEBIT_ENTRY + PENDING_ENTRY
    return camt_document(version, camt_statement(IBAN, balances, entries))


@pytest.mark.parametrize("version", ["02", "05", "08"])
def test_it_reads_account_balances_and_lines_whatever_the_version(version):
    statement = statement_parse(_statement(version))
    assert statement.format == "camt053"
    assert statement.account == "FR7630004005680001234567890"
    assert statement.currency == "EUR"
    assert (statement.opening, statement.opening_on) == (
        Decimal("1000.00"),
        datetime.date(2026, 1, 31),
    )
    assert (statement.closing, statement.closing_on) == (
        Decimal("1030.20"),
        datetime.date(2026, 2, 28),
    )
    assert statement.lines == (
        ParsedLine(
            booked_on=datetime.date(2026, 2, 3),
            value_on=datetime.date(2026, 2, 4),
            amount=Decimal("42.50"),
            label="VIR SEPA RECU /DE HELENE DUPRE",
            bank_id="BANK-0001",
            payer="Hélène Dupré",
            reference="Commande 17 marché du jeudi CMD-17",
        ),
        ParsedLine(
            booked_on=datetime.date(2026, 2, 5),
            value_on=None,
            amount=Decimal("-12.30"),
            label="PRLV SEPA EDF",
            bank_id="NREF-2",
            payer="",
            reference="",
        ),
    )


def test_a_debit_balance_is_negative_and_prcd_stands_for_a_missing_opening():
    balances = camt_balance("PRCD", "25.00", "DBIT", "2026-01-31") + camt_balance(
        "CLBD", "5.20", "CRDT", "2026-02-28"
    )
    statement = statement_parse(_statement("05", balances))
    assert (statement.opening, statement.opening_on) == (
        Decimal("-25.00"),
        datetime.date(2026, 1, 31),
    )
    assert statement.closing == Decimal("5.20")


def test_several_statements_of_one_account_make_one():
    first = camt_statement(
        IBAN, camt_balance("OPBD", "1.00", "CRDT", "2026-01-31"), DEBIT_ENTRY, "1"
    )
    second = camt_statement(
        IBAN, camt_balance("CLBD", "9.00", "CRDT", "2026-02-28"), _credit_entry("02"), "2"
    )
    statement = statement_parse(camt_document("02", first, second))
    assert [line.amount for line in statement.lines] == [Decimal("-12.30"), Decimal("42.50")]
    assert (statement.opening, statement.closing) == (Decimal("1.00"), Decimal("9.00"))


def test_statements_of_two_accounts_are_refused():
    first = camt_statement(IBAN, "", DEBIT_ENTRY, "1")
    second = camt_statement("FR7610107001011234567890129", "", DEBIT_ENTRY, "2")
    with pytest.raises(StatementError, match="plusieurs comptes"):
        statement_parse(camt_document("02", first, second))
