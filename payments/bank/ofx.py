"""OFX statements: 1.x (SGML, ``OFXHEADER:100``) and 2.x (XML, ``<?OFX ...?>``).

`ofxtools` reads the header, decodes the body in the declared charset (1252,
Latin-1 or UTF-8) and builds the element tree of both versions with its own
tokenizer (no XML parser, so no entity to expand). The fields are then read
from that tree rather than through `ofxtools`' typed models, because those
turn ``DTPOSTED`` into UTC (a line booked on the 5th at midnight Paris time
would become the 4th) and expect lengths French banks exceed (``NAME``).
"""

import datetime
import io
import re
from xml.etree.ElementTree import Element

from django.utils.translation import gettext as _
from ofxtools.header import OFXHeaderError
from ofxtools.Parser import OFXTree

from .amounts import amount_read
from .parsed import ParsedLine, ParsedStatement, StatementError, collapse

# Charsets written by banks, as the names `ofxtools` knows.
_CHARSETS = (
    (re.compile(rb"(CHARSET:[ \t]*)(?:UTF-?8)", re.I), rb"\1NONE"),
    (re.compile(rb"(CHARSET:[ \t]*)(?:WINDOWS-1252|CP1252)", re.I), rb"\g<1>1252"),
    (re.compile(rb"(CHARSET:[ \t]*)(?:8859-1|LATIN-?1)\b", re.I), rb"\1ISO-8859-1"),
)
_HEADER_BYTES = 1024
_STATEMENTS = ("STMTRS", "CCSTMTRS")
_ACCOUNTS = ("BANKACCTFROM", "CCACCTFROM")


def looks_like_ofx(head: bytes) -> bool:
    upper = head.upper()
    return b"OFXHEADER" in upper or b"<OFX>" in upper or b"<?OFX" in upper


def _charset_named(data: bytes) -> bytes:
    head, body = data[:_HEADER_BYTES], data[_HEADER_BYTES:]
    for pattern, name in _CHARSETS:
        head = pattern.sub(name, head, count=1)
    return head + body


def _tree(data: bytes) -> Element:
    tree = OFXTree()
    try:
        return tree.parse(io.BytesIO(_charset_named(data.removeprefix(b"\xef\xbb\xbf"))))
    except OFXHeaderError:
        raise StatementError(_("L'en-tête du fichier OFX est illisible.")) from None
    except Exception:  # ofxtools raises what its tokenizer or decoder meets: all mean unreadable
        raise StatementError(_("Le fichier OFX est illisible ou tronqué.")) from None


def _text(element: Element | None, path: str) -> str:
    found = element.find(path) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _date(text: str) -> datetime.date | None:
    """The date of an OFX datetime (``20260205``, ``20260205120000[+1:CET]``), as written."""
    if not text:
        return None
    try:
        return datetime.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        raise StatementError(
            _("La date « %(text)s » du relevé n'est pas une date valide.") % {"text": text[:40]}
        ) from None


def _line(transaction: Element) -> ParsedLine:
    booked_on = _date(_text(transaction, "DTPOSTED"))
    if booked_on is None:
        raise StatementError(_("Une opération du fichier OFX n'a pas de date."))
    return ParsedLine(
        booked_on=booked_on,
        value_on=_date(_text(transaction, "DTAVAIL")),
        amount=amount_read(_text(transaction, "TRNAMT")),
        label=collapse(_text(transaction, "NAME") or _text(transaction, "PAYEE/NAME")),
        bank_id=_text(transaction, "FITID"),
        payer="",
        reference=collapse(_text(transaction, "MEMO")),
    )


def _statements_of(root: Element) -> list[Element]:
    """Every statement of the file: several are read as one if they are of one account."""
    statements = [found for name in _STATEMENTS for found in root.iter(name)]
    if not statements:
        raise StatementError(_("Le fichier OFX ne contient aucun relevé de compte."))
    accounts = {_account(statement) for statement in statements}
    if len(accounts) > 1:
        raise StatementError(
            _("Le fichier contient les relevés de plusieurs comptes : importez-les un par un.")
        )
    return statements


def _account(statement: Element) -> str:
    for name in _ACCOUNTS:
        if (account := _text(statement, f"{name}/ACCTID")) != "":
            return "".join(account.split()).upper()
    return ""


def ofx_parse(data: bytes) -> ParsedStatement:
    statements = _statements_of(_tree(data))
    statement = statements[0]
    balance = statements[-1].find("LEDGERBAL")
    closing_text = _text(balance, "BALAMT")
    return ParsedStatement(
        format="ofx",
        account=_account(statement),
        currency=_text(statement, "CURDEF").upper(),
        opening=None,
        closing=amount_read(closing_text) if closing_text else None,
        opening_on=None,
        closing_on=_date(_text(balance, "DTASOF")),
        lines=tuple(_line(found) for each in statements for found in each.iter("STMTTRN")),
    )
