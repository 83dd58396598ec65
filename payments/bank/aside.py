"""A bank line set aside, with why: it pays no client's payment.

A cheque deposit or the card terminal's settlement is money the market
already holds in its books, in the cheques or the terminal's account: set
aside as such, the line's amount is posted from that account to the bank's,
so that each comes back to zero as its money reaches the bank. Once per
line, whatever the clicks (the posting is keyed on the line). A line set
aside by mistake is taken back (`line_take_back`): its deposit, if any, is
reversed with the reason given, and the line is proposed again.
"""

from django.db import transaction
from django.utils.translation import gettext

from cagette.i18n import stored_language

from ..labels import CARD_SETTLEMENT, CHEQUE_DEPOSIT
from ..ledger import Leg, market_ref, transaction_post, transaction_reverse
from ..models import (
    AccountKind,
    BankLine,
    BankLineAside,
    SetAsideReason,
    Transaction,
    TransactionKind,
)

# The account the money of a deposit comes from, and how the posting says it.
DEPOSITS = {
    SetAsideReason.CHEQUE_DEPOSIT: (AccountKind.CHEQUES, CHEQUE_DEPOSIT),
    SetAsideReason.CARD_SETTLEMENT: (AccountKind.CARD_TERMINAL, CARD_SETTLEMENT),
}


def line_aside(*, line: BankLine, reason: str, note: str, by) -> tuple[BankLineAside, bool]:
    """Set ``line`` aside (once); a credit of a deposit posts it to the bank."""
    with transaction.atomic():
        locked = BankLine.objects.select_for_update().get(pk=line.pk)
        aside = BankLineAside.objects.filter(line=locked).first()
        if aside is not None:
            return aside, False
        posting = _deposit(locked, reason, by) if line.amount > 0 else None
        aside = BankLineAside.objects.create(
            market_id=line.market_id,
            line=locked,
            reason=reason,
            note=note,
            transaction=posting,
            created_by=by,
        )
    return aside, True


def _deposits_before(line: BankLine) -> int:
    """How many times the line was posted as a deposit before (each one since
    reversed, its setting aside taken back): the next posting's key is new."""
    prefix = f"bank-deposit-{line.pk}-"
    earlier = Transaction.objects.filter(
        market_id=line.market_id, idempotency_key__startswith=prefix
    )
    return earlier.count()


def _deposit(line: BankLine, reason: str, by):
    source = DEPOSITS.get(reason)
    if source is None:
        return None
    kind, wording = source
    market = line.market
    with stored_language():
        label = gettext(wording)
    txn, _created = transaction_post(
        market=market,
        kind=TransactionKind.DEPOSIT,
        label=label,
        legs=[
            Leg(market_ref(market, AccountKind.BANK), line.amount),
            Leg(market_ref(market, kind), -line.amount),
        ],
        posted_by=by,
        date=line.booked_on,
        idempotency_key=f"bank-deposit-{line.pk}-{_deposits_before(line)}",
    )
    return txn


def line_take_back(*, line: BankLine, reason: str, by) -> bool:
    """Undo ``line``'s setting aside; False if it was not set aside (any more)."""
    with transaction.atomic():
        BankLine.objects.select_for_update().get(pk=line.pk)
        aside = BankLineAside.objects.filter(line=line).select_related("transaction").first()
        if aside is None:
            return False
        if aside.transaction is not None:
            transaction_reverse(txn=aside.transaction, reason=reason, posted_by=by)
        aside.delete()
    return True
