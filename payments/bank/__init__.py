"""The market's bank statements: parsing the files a bank exports."""

import datetime
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ParsedLine:
    booked_on: datetime.date
    value_on: datetime.date | None
    amount: Decimal
    label: str
    bank_id: str
    payer: str
    reference: str


@dataclass(frozen=True)
class ParsedStatement:
    format: str
    account: str
    currency: str
    opening: Decimal | None
    closing: Decimal | None
    opening_on: datetime.date | None
    closing_on: datetime.date | None
    lines: tuple[ParsedLine, ...]


class StatementError(Exception):
    pass


def statement_parse(data: bytes, *, layout=None) -> ParsedStatement:
    raise StatementError("not yet")
