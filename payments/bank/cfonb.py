"""CFONB 120, the French « relevé de compte sur support informatique » in 120-character records.

Records (positions from 1, as in the CFONB layout):
- 01 ancien solde and 07 nouveau solde: bank 3-7, branch 12-16, currency 17-19,
  decimals 20, account 22-32, date 35-40 (DDMMYY), amount 91-104;
- 04 mouvement: booking date 35-40, value date 43-48, label 49-80, entry
  number 82-88, amount 91-104, reference 105-120;
- 05 complément of the 04 before it: qualifier 46-48, text 49-118 (LIB, LCC,
  LC2, LCS add to the label; NPY and NBE name the payer or payee; RCN, REF the
  reference; the others, amounts and codes, are not read).
An amount is 13 digits and a last character that carries both the last digit
and the sign (« overpunch »): ``{`` and A-I are +0 to +9, ``}`` and J-R -0 to -9.
"""

import datetime
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.utils.translation import gettext as _

from .amounts import amount_exact, amount_refused
from .parsed import ParsedLine, ParsedStatement, StatementError, collapse

RECORD = 120
_POSITIVE = "{ABCDEFGHI"
_NEGATIVE = "}JKLMNOPQR"
_LABELS = {"LIB", "LCC", "LC2", "LCS"}
_REFERENCES = {"RCN", "REF"}


def _records(data: bytes) -> list[str]:
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if "\n" not in text and "\r" not in text and len(text) % RECORD == 0:
        return [text[start : start + RECORD] for start in range(0, len(text), RECORD)]
    return [line for line in text.splitlines() if line.strip()]


def looks_like_cfonb(data: bytes) -> bool:
    first = data[: RECORD + 2].splitlines()[0] if data[:1] == b"0" else b""
    return first[:2] == b"01" and first[2:7].strip().isdigit() and len(first.rstrip()) >= 104


def _refused(number: int) -> StatementError:
    return StatementError(
        _("La ligne %(number)s du relevé CFONB est illisible.") % {"number": number}
    )


def _amount(record: str) -> Decimal:
    text, decimals = record[90:104], record[19]
    last = text[-1:]
    digits = text[:-1]
    if not (digits.isascii() and digits.isdigit() and decimals.isdigit()):
        raise amount_refused(text.strip())
    if last in _POSITIVE:
        sign, unit = 1, _POSITIVE.index(last)
    elif last in _NEGATIVE:
        sign, unit = -1, _NEGATIVE.index(last)
    else:
        raise amount_refused(text.strip())
    value = Decimal(sign * (int(digits) * 10 + unit)).scaleb(-int(decimals))
    return amount_exact(value, text.strip())


def _date(text: str, number: int) -> datetime.date | None:
    if not text.strip():
        return None
    try:
        return datetime.datetime.strptime(text, "%d%m%y").date()
    except ValueError:
        raise _refused(number) from None


@dataclass
class _Reading:
    """What the records read so far say."""

    accounts: set = field(default_factory=set)
    currency: str = ""
    opening: tuple | None = None
    closing: tuple | None = None
    lines: list = field(default_factory=list)


def _balance(reading: _Reading, record: str, number: int) -> None:
    reading.accounts.add(record[2:7] + record[11:16] + record[21:32].strip())
    reading.currency = reading.currency or record[16:19].strip()
    balance = (_amount(record), _date(record[34:40], number))
    if record[:2] == "01" and reading.opening is None:
        reading.opening = balance
    elif record[:2] == "07":
        reading.closing = balance


def _movement(record: str, number: int) -> ParsedLine:
    booked_on = _date(record[34:40], number)
    if booked_on is None:
        raise _refused(number)
    return ParsedLine(
        booked_on=booked_on,
        value_on=_date(record[42:48], number),
        amount=_amount(record),
        label=collapse(record[48:80]),
        bank_id=record[81:88].strip(),
        payer="",
        reference=collapse(record[104:120]),
    )


def _complement(line: ParsedLine, record: str) -> ParsedLine:
    qualifier, text = record[45:48], collapse(record[48:118])
    if qualifier in _LABELS:
        return replace(line, label=collapse(line.label, text))
    if qualifier in _REFERENCES:
        return replace(line, reference=collapse(line.reference, text))
    payer_code = "NPY" if line.amount > 0 else "NBE"
    if qualifier == payer_code and not line.payer:
        return replace(line, payer=text)
    return line


def _read(reading: _Reading, record: str, number: int) -> None:
    code = record[:2]
    if len(record) > RECORD or (code != "05" and len(record.rstrip()) < 104):
        raise _refused(number)
    record = record.ljust(RECORD)
    if code in ("01", "07"):
        _balance(reading, record, number)
    elif code == "04":
        reading.lines.append(_movement(record, number))
    elif code == "05" and reading.lines:
        reading.lines[-1] = _complement(reading.lines[-1], record)
    else:
        raise _refused(number)


def cfonb_parse(data: bytes) -> ParsedStatement:
    """Several statements of one account make one; of several accounts, a refusal."""
    reading = _Reading()
    for number, record in enumerate(_records(data), start=1):
        _read(reading, record, number)
    if len(reading.accounts) > 1:
        raise StatementError(
            _("Le fichier contient les relevés de plusieurs comptes : importez-les un par un.")
        )
    opening, opening_on = reading.opening or (None, None)
    closing, closing_on = reading.closing or (None, None)
    return ParsedStatement(
        format="cfonb120",
        account=reading.accounts.pop() if reading.accounts else "",
        currency=reading.currency,
        opening=opening,
        closing=closing,
        opening_on=opening_on,
        closing_on=closing_on,
        lines=tuple(reading.lines),
    )
