"""OFX statements: 1.x in SGML and cp1252, 2.x in XML and UTF-8."""

import datetime
from decimal import Decimal

import pytest

from payments.bank import ParsedLine, StatementError, statement_parse

OFX1_HEADER = (
    "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
    "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
)
OFX2_HEADER = (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    '<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n'
)


def _body(closing: str) -> str:
    """The same statement, leaf elements closed (valid in both versions)."""
    return (
        "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>"
        "<DTSERVER>20260301120000</DTSERVER><LANGUAGE>FRA</LANGUAGE></SONRS></SIGNONMSGSRSV1>"
        "<BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STATUS><CODE>0</CODE>"
        "<SEVERITY>INFO</SEVERITY></STATUS><STMTRS><CURDEF>EUR</CURDEF>"
        "<BANKACCTFROM><BANKID>30004</BANKID><BRANCHID>00568</BRANCHID>"
        "<ACCTID>00012345678</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>"
        "<BANKTRANLIST><DTSTART>20260201</DTSTART><DTEND>20260228</DTEND>"
        "<STMTTRN><TRNTYPE>CREDIT</TRNTYPE><DTPOSTED>20260203</DTPOSTED>"
        "<TRNAMT>42.50</TRNAMT><FITID>FIT-0001</FITID>"
        "<NAME>VIR SEPA Hélène Dupré</NAME><MEMO>Commande 17 épicerie</MEMO></STMTTRN>"
        "<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20260205000000[+1:CET]</DTPOSTED>"
        "<TRNAMT>-12.3</TRNAMT><FITID>FIT-0002</FITID>"
        "<NAME>PRLV SEPA EDF CLIENTS PARTICULIERS REF 123456</NAME></STMTTRN>"
        "</BANKTRANLIST>"
        f"<LEDGERBAL><BALAMT>{closing}</BALAMT><DTASOF>20260228</DTASOF></LEDGERBAL>"
        "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"
    )


def _sgml(body: str) -> str:
    """OFX 1.x leaves have no closing tag."""
    for leaf in ("CODE", "SEVERITY", "DTSERVER", "LANGUAGE", "TRNUID", "CURDEF", "BANKID"):
        body = body.replace(f"</{leaf}>", "")
    for leaf in ("BRANCHID", "ACCTID", "ACCTTYPE", "DTSTART", "DTEND", "TRNTYPE", "DTPOSTED"):
        body = body.replace(f"</{leaf}>", "")
    for leaf in ("TRNAMT", "FITID", "NAME", "MEMO", "BALAMT", "DTASOF"):
        body = body.replace(f"</{leaf}>", "")
    return body.replace("><", ">\r\n<")


EXPECTED_LINES = (
    ParsedLine(
        booked_on=datetime.date(2026, 2, 3),
        value_on=None,
        amount=Decimal("42.50"),
        label="VIR SEPA Hélène Dupré",
        bank_id="FIT-0001",
        payer="",
        reference="Commande 17 épicerie",
    ),
    ParsedLine(
        booked_on=datetime.date(2026, 2, 5),
        value_on=None,
        amount=Decimal("-12.30"),
        label="PRLV SEPA EDF CLIENTS PARTICULIERS REF 123456",
        bank_id="FIT-0002",
        payer="",
        reference="",
    ),
)


def _assert_statement(statement):
    assert statement.format == "ofx"
    assert statement.account == "00012345678"
    assert statement.currency == "EUR"
    assert (statement.opening, statement.opening_on) == (None, None)
    assert (statement.closing, statement.closing_on) == (
        Decimal("1030.20"),
        datetime.date(2026, 2, 28),
    )
    assert statement.lines == EXPECTED_LINES


def test_it_reads_ofx_1_in_sgml_and_cp1252_with_its_accents():
    data = (OFX1_HEADER.replace("\n", "\r\n") + _sgml(_body("1030.20"))).encode("cp1252")
    _assert_statement(statement_parse(data))


def test_it_reads_ofx_1_declaring_utf8():
    header = OFX1_HEADER.replace("ENCODING:USASCII", "ENCODING:UTF-8")
    data = (header.replace("CHARSET:1252", "CHARSET:UTF-8") + _sgml(_body("1030,20"))).encode()
    _assert_statement(statement_parse(data))


def test_it_reads_ofx_2_in_xml_and_utf8():
    _assert_statement(statement_parse((OFX2_HEADER + _body("1030.20")).encode()))


def test_a_broken_ofx_header_is_refused():
    data = ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:ABC\n" + _sgml(_body("1.00"))).encode()
    with pytest.raises(StatementError, match="en-tête du fichier OFX"):
        statement_parse(data)


def test_a_truncated_ofx_is_refused():
    data = (OFX2_HEADER + _body("1030.20")[:700]).encode()
    with pytest.raises(StatementError, match="OFX"):
        statement_parse(data)


def test_an_amount_with_three_decimals_is_refused():
    data = (OFX2_HEADER + _body("1030.205")).encode()
    with pytest.raises(StatementError, match="1030.205"):
        statement_parse(data)
