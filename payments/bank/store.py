"""An imported statement stored: the file once, each of its bank lines once.

`statement_store` records the statement (what the file says of the account
and its balances, who imported it) and each line the market's books do not
hold yet, in one database transaction. A line already stored (the same file
imported again, or a statement overlapping an earlier one) is recognised by
its fingerprint (`line_fingerprints`) and left as it is: ``INSERT … ON
CONFLICT DO NOTHING`` on the one key ``(market, fingerprint)``, so two imports
at once still store it once.
"""

import hashlib
from collections import Counter
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Market
from cagette.money import ZERO

from ..models import BankLine, BankStatement
from . import ParsedLine, ParsedStatement, StatementError

BATCH = 1000


def line_fingerprints(lines: Sequence[ParsedLine]) -> list[str]:
    """Each line's key in the market's books, in the lines' order.

    The bank's own id of the line where the format gives one; else a digest
    of its date, amount and label (spaces and case aside) and of its rank
    among the identical lines of its statement: the second of two identical
    card payments on one day is another line, found again at the same rank in
    an overlapping statement. An id repeated within one file gets its rank too.
    """
    seen: Counter = Counter()
    keys = []
    for line in lines:
        if line.bank_id:
            body: tuple = ("id", line.bank_id)
        else:
            label = " ".join(line.label.split()).casefold()
            body = ("line", line.booked_on.isoformat(), str(line.amount), label)
        seen[body] += 1
        if body[0] == "id" and seen[body] == 1:
            keys.append(f"id:{line.bank_id}"[:200])
            continue
        digest = hashlib.sha256("\x1f".join((*body, str(seen[body]))).encode()).hexdigest()
        keys.append(f"fp:{digest}")
    return keys


def _compact(account: str) -> str:
    return "".join(account.split()).upper()


def account_check(market: Market, parsed: ParsedStatement) -> None:
    """Refuse a statement of another account than the market's (when both are known)."""
    mine, theirs = _compact(market.iban), _compact(parsed.account)
    if mine and theirs and theirs[:2].isalpha() and theirs != mine:
        raise StatementError(
            _("Ce relevé est celui du compte %(theirs)s, pas du compte du marché (%(mine)s).")
            % {"theirs": theirs, "mine": mine}
        )


def statement_seen(market: Market, data: bytes) -> BankStatement | None:
    """The earlier import of this very file in the market, if any."""
    digest = hashlib.sha256(data).hexdigest()
    return BankStatement.objects.filter(market=market, digest=digest).order_by("pk").first()


def statement_store(
    *, market: Market, parsed: ParsedStatement, data: bytes, filename: str, imported_by
) -> tuple[BankStatement, int]:
    """Store ``parsed`` (read from ``data``); return it and how many lines were new."""
    account_check(market, parsed)
    lines = [line for line in parsed.lines if line.amount != 0]
    with transaction.atomic():
        statement = BankStatement.objects.create(
            market=market,
            format=parsed.format,
            filename=filename[:200],
            digest=hashlib.sha256(data).hexdigest(),
            account=_compact(parsed.account)[:64],
            currency=parsed.currency[:3],
            opening=parsed.opening,
            closing=parsed.closing,
            opening_on=parsed.opening_on,
            closing_on=parsed.closing_on,
            lines_in_file=len(lines),
            lines_total=sum((line.amount for line in lines), ZERO),
            imported_by=imported_by,
        )
        keys = line_fingerprints(lines)
        rows = [
            _row(market, statement, position, key, line)
            for position, (key, line) in enumerate(zip(keys, lines, strict=True), start=1)
        ]
        BankLine.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
        new = BankLine.objects.filter(statement=statement).count()
    return statement, new


def _row(market, statement, position: int, key: str, line: ParsedLine) -> BankLine:
    return BankLine(
        market=market,
        statement=statement,
        position=position,
        fingerprint=key,
        booked_on=line.booked_on,
        value_on=line.value_on,
        amount=line.amount,
        label=line.label,
        bank_id=line.bank_id[:140],
        payer=line.payer[:140],
        reference=line.reference,
    )
