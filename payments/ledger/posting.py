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

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Market
from cagette.i18n import stored_language
from cagette.money import ZERO

from ..labels import REVERSAL
from ..models import Account, Transaction, TransactionKind

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


def _lock_accounts(account_ids) -> dict[int, Account]:
    # ORDER BY id before FOR UPDATE: every posting takes its locks in the same
    # order, so two postings on the same accounts cannot deadlock.
    locked = Account.objects.select_for_update().filter(pk__in=account_ids).order_by("pk")
    return {account.pk: account for account in locked}


def accounts_lock(accounts) -> None:
    """Lock ``accounts`` now, in id order, for a flow that makes several postings.

    Each posting locks its own accounts in id order, but a second posting in
    the same database transaction would lock its accounts after the first
    one's (a producer's sales account after the client's): another flow
    locking them in id order could then close a cycle. Locking the union of
    every account the flow may touch first keeps the one order.
    """
    _lock_accounts(sorted({account.pk for account in accounts}))


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
) -> tuple[Transaction, bool]:
    """Post one balanced transaction; return ``(transaction, created)``.

    With an ``idempotency_key`` already used in this market, nothing is posted
    and the first transaction is returned with ``created=False``. ``floors``
    maps client accounts to the least they must still hold afterwards.
    """
    _validate_legs(market, legs)
    deltas: dict[int, Decimal] = defaultdict(Decimal)
    for leg in legs:
        deltas[leg.account.pk] += leg.amount

    with transaction.atomic():
        locked = _lock_accounts(sorted(deltas))
        existing = _already_posted(market, idempotency_key)
        if existing is not None:
            return existing, False
        if reverses is not None and Transaction.objects.filter(reverses=reverses).exists():
            raise AlreadyReversedError(f"transaction {reverses.pk} is already reversed")
        _check_floors(locked, deltas, floors or {})
        fields = {
            "market": market,
            "kind": kind,
            "label": label[:200],
            "date": date or timezone.localdate(),
            "created_by": posted_by,
            "idempotency_key": idempotency_key or None,
            "reverses": reverses,
            "reason": reason,
            "order": order,
        }
        txn, created = _transaction_create(fields)
        if created:
            _entries_write(txn, legs, deltas)
    return txn, created


def _already_posted(market: Market, idempotency_key: str | None) -> Transaction | None:
    if not idempotency_key:
        return None
    return Transaction.objects.filter(market=market, idempotency_key=idempotency_key).first()


def _transaction_create(fields: dict) -> tuple[Transaction, bool]:
    try:
        with transaction.atomic():
            return Transaction.objects.create(**fields), True
    except IntegrityError:
        # A concurrent posting with the same key or reversing the same
        # transaction committed first (it did not touch our accounts).
        existing = _already_posted(fields["market"], fields["idempotency_key"])
        if existing is not None:
            return existing, False
        reverses = fields["reverses"]
        if reverses is not None:
            raise AlreadyReversedError(f"transaction {reverses.pk} is already reversed") from None
        raise


def _entries_write(txn: Transaction, legs: Sequence[Leg], deltas: Mapping[int, Decimal]) -> None:
    txn.entries.bulk_create(
        [txn.entries.model(transaction=txn, account=leg.account, amount=leg.amount) for leg in legs]
    )
    for account_id, delta in deltas.items():
        if delta:
            Account.objects.filter(pk=account_id).update(balance=F("balance") + delta)


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
