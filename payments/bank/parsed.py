"""What a bank statement becomes once read: plain frozen data, and the errors that refuse a file.

Every parser of this package returns a `ParsedStatement`; every refusal is a
`StatementError` whose text is a French sentence for the upload form.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

# Checked before anything reads the file: no statement a market receives comes near it.
MAX_STATEMENT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ParsedLine:
    booked_on: datetime.date
    value_on: datetime.date | None
    amount: Decimal  # signed, 2 places: credit (money in) positive, debit negative
    label: str  # the bank's label(s), whitespace collapsed
    bank_id: str  # the bank's own id of the line, "" if none
    payer: str  # the counterparty's name when the format gives it, else ""
    reference: str  # remittance text, else ""


@dataclass(frozen=True)
class ParsedStatement:
    format: str  # "camt053" | "ofx" | "cfonb120" | "csv"
    account: str  # IBAN (no spaces, upper case) when given, else the account number, else ""
    currency: str
    opening: Decimal | None
    closing: Decimal | None
    opening_on: datetime.date | None
    closing_on: datetime.date | None
    lines: tuple[ParsedLine, ...]


class StatementError(Exception):
    """The file is refused; ``str(error)`` is a French sentence for the form."""


class CsvLayoutNeeded(StatementError):
    """A CSV file whose columns match no known bank: the caller must map them.

    Carries what a mapping form needs: the header row found, and how the file was read.
    """

    def __init__(self, message: str, *, header: tuple[str, ...], encoding: str, delimiter: str):
        super().__init__(message)
        self.header = header
        self.encoding = encoding
        self.delimiter = delimiter


def collapse(*texts: str | None) -> str:
    """The non-empty texts joined by one space, whitespace collapsed."""
    return " ".join(" ".join(text.split()) for text in texts if text and text.strip())
