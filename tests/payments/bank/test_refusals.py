"""Files refused with a French sentence, never with another exception."""

import pytest

from payments.bank import MAX_STATEMENT_BYTES, StatementError, statement_parse

from .builders import camt_document, camt_statement

CSV_HEADER = "Date;Libellé;Montant(EUROS)\n"


def _csv_amount(amount: str) -> bytes:
    return (CSV_HEADER + f"03/02/2026;VIR DUPRE;{amount}\n").encode()


def test_a_file_over_10_mb_is_refused_before_being_read():
    with pytest.raises(StatementError, match="10 Mo"):
        statement_parse(b"<" * (MAX_STATEMENT_BYTES + 1))


@pytest.mark.parametrize("data", [b"", b"   \n", b"%PDF-1.7 ...", b"PK\x03\x04zip", b"\x00\x01"])
def test_what_is_not_a_statement_is_refused(data):
    with pytest.raises(StatementError, match="pas un relevé"):
        statement_parse(data)


def test_truncated_xml_is_refused():
    data = camt_document("02", camt_statement("FR7630004005680001234567890", "", ""))
    with pytest.raises(StatementError, match="tronqué"):
        statement_parse(data[:-40])


def test_xml_that_is_not_camt_is_refused():
    with pytest.raises(StatementError, match="CAMT.053"):
        statement_parse(b'<?xml version="1.0"?><html><body>camt.053</body></html>')


def test_an_xml_bomb_is_refused_without_expanding_it():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&c;</Document>'
    )
    with pytest.raises(StatementError, match="entités"):
        statement_parse(bomb)


@pytest.mark.parametrize("amount", ["1e400", "douze", "12,345", "NaN", "1_000,00", "١٢"])
def test_an_amount_that_is_not_one_is_refused(amount):
    with pytest.raises(StatementError, match="montant"):
        statement_parse(_csv_amount(amount))


def test_a_camt_amount_in_exponent_form_is_refused():
    entry = (
        '<Ntry><Amt Ccy="EUR">1e400</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        "<BookgDt><Dt>2026-02-03</Dt></BookgDt></Ntry>"
    )
    data = camt_document("08", camt_statement("FR7630004005680001234567890", "", entry))
    with pytest.raises(StatementError, match="1e400"):
        statement_parse(data)


def test_a_csv_date_that_is_not_one_is_refused():
    with pytest.raises(StatementError, match="date"):
        statement_parse((CSV_HEADER + "31/02/2026;VIR DUPRE;1,00\n").encode())


def test_a_csv_line_without_amount_is_refused():
    with pytest.raises(StatementError, match="ligne 2"):
        statement_parse((CSV_HEADER + "03/02/2026;VIR DUPRE;\n").encode())
