"""The one posting service: every money movement is a balanced transaction posted here.

See the "Design overview" in `payments.models.ledger` for the sign convention and
the invariants. In short: amounts are debit-positive; a client account's
``held`` (what people see) is minus its balance.
"""

import functools
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date as date_type
from decimal import Decimal
from typing import ParamSpec, TypeVar

from django.db import DatabaseError, transaction
from django.db.models import Case, When
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Market
from cagette.i18n import stored_language
from cagette.money import ZERO

from ..labels import REVERSAL
from ..models import Account, AccountKind, Transaction, TransactionKind
from .accounts import ref_refresh
from .statement import StaleAccounts, rows_write

MAX_ENTRY_AMOUNT = Decimal("999999999999.99")

logger = logging.getLogger(__name__)


class LedgerError(Exception):
    """A posting that the ledger refuses: a bug in the caller, not a user error."""


class UnbalancedTransactionError(LedgerError):
    pass


class InvalidAmountError(LedgerError):
    pass


class CrossMarketError(LedgerError):
    pass


class AlreadyReversedError(LedgerError):
    pass


class InsufficientBalanceError(LedgerError):
    """Posting would push a client below the floor (e.g. no negative balances)."""

    def __init__(self, account: Account, available: Decimal, requested: Decimal):
        self.account = account
        self.available = available
        self.requested = requested
        super().__init__(f"account {account.pk}: holds {available}, needs {requested}")


# deadlock_detected, serialization_failure: PostgreSQL rolled the whole database
# transaction back, and running it again is expected to succeed.
CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})
ATTEMPTS = 3
P = ParamSpec("P")
R = TypeVar("R")


def is_conflict(error: BaseException) -> bool:
    return getattr(error.__cause__, "sqlstate", None) in CONFLICT_SQLSTATES


def retried_on_conflict(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` in one atomic block, run again (up to `ATTEMPTS` times in
    all) when PostgreSQL aborts it on a deadlock or a serialization failure.

    Locks are taken in one order (see `_lock_accounts`), so a conflict is
    rare, but a flow that touches rows outside the ledger can still meet one,
    and the caller should not see it. Only the outermost block retries: a
    conflict aborts the whole database transaction, savepoints included, so
    inside an enclosing block ``func`` just runs and the error travels up to
    whoever opened it. The block is run again from the start, reading every
    row afresh; callbacks given to ``transaction.on_commit`` by a failed
    attempt are dropped with it, so an email goes out once.
    """

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if transaction.get_connection().in_atomic_block:
            return func(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    return func(*args, **kwargs)
            except DatabaseError as error:
                if attempt == ATTEMPTS or not is_conflict(error):
                    raise
                logger.warning("%s: %s; attempt %d", func.__qualname__, error, attempt + 1)
                time.sleep(random.uniform(0, 0.02 * attempt))  # let the other one finish
        raise AssertionError("unreachable")

    return run


@dataclass(frozen=True)
class Leg:
    account: Account
    amount: Decimal  # debit-positive


def _check_amount(amount) -> None:
    if not isinstance(amount, Decimal):
        raise InvalidAmountError(f"amounts are Decimal, not {type(amount).__name__}")
    if not amount.is_finite() or amount.as_tuple().exponent < -2:
        raise InvalidAmountError(f"{amount} is not an amount with at most 2 decimals")
    if amount == 0:
        raise InvalidAmountError("an entry cannot be zero")
    if abs(amount) > MAX_ENTRY_AMOUNT:
        raise InvalidAmountError(f"{amount} is too large")


def _validate_legs(market: Market, legs: Sequence[Leg]) -> None:
    if len(legs) < 2:
        raise UnbalancedTransactionError("a transaction needs at least two entries")
    for leg in legs:
        _check_amount(leg.amount)
        if leg.account.market_id != market.pk:
            raise CrossMarketError(f"account {leg.account.pk} is not in market {market.pk}")
    total = sum((leg.amount for leg in legs), ZERO)
    if total != 0:
        raise UnbalancedTransactionError(f"entries sum to {total}, not 0")


def _lock_order():
    # One order for every lock on accounts: client accounts first, by id, then
    # the market's shared accounts (money, sales…), by id. A posting can then
    # hold a client's row while it checks the floor and come to the shared
    # rows last, for one statement, without two postings ever waiting on each
    # other in a cycle.
    return [Case(When(kind=AccountKind.CLIENT, then=0), default=1), "pk"]


def _lock_accounts(account_ids) -> dict[int, Account]:
    # As an UPDATE locks a row: the keys of entries and parts pointing to a
    # locked shared account are still checked, so postings go on meanwhile.
    locked = Account.objects.select_for_update(no_key=True).filter(pk__in=account_ids)
    locked = locked.order_by(*_lock_order())
    return {account.pk: account for account in locked}


def accounts_lock(accounts) -> None:
    """Lock ``accounts`` now, in the one lock order, for a flow that makes several postings.

    Each posting takes its locks in that order, but a second posting in the
    same database transaction would lock its accounts after the first one's
    (a producer's sales account after the client's): another flow locking
    them in order could then close a cycle. Locking the union of every
    account the flow may touch first keeps the one order.
    """
    _lock_accounts({account.pk for account in accounts})


def _floor_locks(legs: Sequence[Leg], floors: Mapping[Account, Decimal]) -> dict[int, Account]:
    """Lock, before anything is written, the rows whose floor is checked.

    Floors are on client accounts, which come first in the lock order: the
    posting's client accounts are locked (and read) now, its shared accounts
    only by the balance update at the end. A shared account has no floor: its
    balance is kept in parts (`BalanceSlot`), which no one row holds.
    """
    if not floors:
        return {}
    if any(account.kind != AccountKind.CLIENT for account in floors):
        raise LedgerError("a floor is checked on a client account only")
    return _lock_accounts(
        {leg.account.pk for leg in legs if leg.account.kind == AccountKind.CLIENT}
    )


def _check_floors(locked, deltas, floors: Mapping[Account, Decimal]) -> None:
    for account, floor in floors.items():
        delta = deltas.get(account.pk, ZERO)
        if delta <= 0:  # this posting does not lower what the client holds
            continue
        current = locked[account.pk]
        held_after = -(current.balance + delta)
        if held_after < floor:
            raise InsufficientBalanceError(current, current.held, delta)


@retried_on_conflict
def transaction_post(
    *,
    market: Market,
    kind: str,
    label: str,
    legs: Sequence[Leg],
    posted_by=None,
    date: date_type | None = None,
    idempotency_key: str | None = None,
    floors: Mapping[Account, Decimal] | None = None,
    reverses: Transaction | None = None,
    reason: str = "",
    order=None,
    record=None,
    last: bool = False,
) -> tuple[Transaction, bool]:
    """Post one balanced transaction; return ``(transaction, created)``.

    With an ``idempotency_key`` already used in this market, nothing is posted
    and the first transaction is returned with ``created=False``. ``floors``
    maps client accounts to the least they must still hold afterwards. ``record``:
    an unsaved row pointing to the transaction (a `Payment`), written with it.
    ``last``: the caller's atomic block does nothing after this posting; when
    it is the outermost block, the database transaction is committed with the
    posting's statement, in one round trip (`payments.ledger.statement`).

    Always inside an atomic block (`retried_on_conflict` opens one), with no
    savepoint of its own: every refusal is raised before the first write, so
    a caller that catches it can carry on.
    """
    _validate_legs(market, legs)
    deltas = _deltas(legs)
    if floors:
        existing = _floors_hold(market, legs, deltas, floors, idempotency_key)
        if existing is not None:  # posted before, when the client still held enough
            return existing, False
    txn = Transaction(
        market=market,
        kind=kind,
        label=label[:200],
        date=date or timezone.localdate(),
        created_by=posted_by,
        idempotency_key=idempotency_key or None,
        reverses=reverses,
        reason=reason,
        order=order,
    )
    if not _rows_write(market, txn, legs, deltas, record, last):
        return _conflicting(market, idempotency_key, reverses), False
    return txn, True


def _floors_hold(market, legs, deltas, floors, idempotency_key) -> Transaction | None:
    """Check the floors under their locks; the transaction already posted with
    ``idempotency_key`` instead of a refusal, if there is one."""
    locked = _floor_locks(legs, floors)
    try:
        _check_floors(locked, deltas, floors)
    except InsufficientBalanceError:
        existing = _already_posted(market, idempotency_key)
        if existing is None:
            raise
        return existing
    return None


def _deltas(legs: Sequence[Leg]) -> dict[int, Decimal]:
    deltas: dict[int, Decimal] = defaultdict(Decimal)
    for leg in legs:
        deltas[leg.account.pk] += leg.amount
    return deltas


def _rows_write(
    market: Market, txn: Transaction, legs: Sequence[Leg], deltas, record, last
) -> bool:
    """`rows_write`, with the legs' accounts read again if one of them is not
    the row it says (nothing was written then)."""
    try:
        return rows_write(txn, legs, deltas, record, commit=last)
    except StaleAccounts:
        legs = [Leg(ref_refresh(leg.account), leg.amount) for leg in legs]
        _validate_legs(market, legs)
        return rows_write(txn, legs, _deltas(legs), record, commit=last)


def _already_posted(market: Market, idempotency_key: str | None) -> Transaction | None:
    if not idempotency_key:
        return None
    return Transaction.objects.filter(market=market, idempotency_key=idempotency_key).first()


def _conflicting(market: Market, idempotency_key, reverses) -> Transaction:
    existing = _already_posted(market, idempotency_key)
    if existing is not None:
        return existing
    if reverses is not None:
        raise AlreadyReversedError(f"transaction {reverses.pk} is already reversed")
    raise LedgerError("the transaction conflicts with another one")


def transaction_reverse(
    *,
    txn: Transaction,
    reason: str,
    posted_by=None,
    idempotency_key: str | None = None,
) -> tuple[Transaction, bool]:
    """Post the exact opposite of ``txn``, linked to it. The original stays."""
    if not reason.strip():
        raise LedgerError("a reversal needs a reason")
    if txn.kind == TransactionKind.REVERSAL:
        raise LedgerError("a reversal is not reversed; post a new transaction instead")
    legs = [Leg(entry.account, -entry.amount) for entry in txn.entries.select_related("account")]
    with stored_language():
        # The original's audit text, as written: `payments.labels` reads it back.
        label = gettext(REVERSAL) % {"label": txn.label}
    return transaction_post(
        order=txn.order,
        market=txn.market,
        kind=TransactionKind.REVERSAL,
        label=label,
        legs=legs,
        posted_by=posted_by,
        idempotency_key=idempotency_key,
        reverses=txn,
        reason=reason.strip(),
    )
