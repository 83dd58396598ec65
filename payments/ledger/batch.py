"""Many postings in one statement: a distribution's payments received in bulk.

`transactions_post_batch` posts a batch of balanced transactions of one
market, each one as `transaction_post` would post it alone (its own row, its
own entries, its own idempotency key, so each stays traceable and reversible
one by one), in one round trip: the transactions ``INSERT … ON CONFLICT DO
NOTHING RETURNING``, their entries, and one update of every balance touched.

Every posting of a batch carries an idempotency key of its own: a key
already taken in the market (the same payment confirmed alone meanwhile)
posts nothing, and the balances only add the entries actually inserted.

The account rows are locked in the one lock order of `payments.ledger.posting`
(client accounts by id, then the market's shared accounts by id), once for
the whole batch, from this statement to COMMIT. No floor is checked here: a
batch is for postings that lower no client's holding (money received).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date as date_type

from django.db import connection
from django.utils import timezone

from accounts.models import Market
from cagette.i18n import stored_language

from ..labels import payment_wording
from ..methods import PaymentMethod
from ..models import (
    METHOD_ACCOUNT,
    Account,
    AccountKind,
    Entry,
    Payment,
    Transaction,
    TransactionKind,
)
from .accounts import client_accounts, market_account
from .posting import LedgerError, Leg, _validate_legs
from .statement import balances_sql


@dataclass(frozen=True)
class Posting:
    """One transaction of a batch (see `transactions_post_batch`)."""

    kind: str
    label: str
    legs: Sequence[Leg]
    idempotency_key: str
    date: date_type
    order_id: int | None = None


def _sql() -> str:
    txn, entry, account = (m._meta.db_table for m in (Transaction, Entry, Account))
    return f"""
    WITH posting AS (
        SELECT * FROM unnest(%(kinds)s::text[], %(labels)s::text[], %(dates)s::date[],
            %(keys)s::text[], %(orders)s::bigint[]) WITH ORDINALITY
            AS p (kind, label, date, idempotency_key, order_id, n)
    ),
    txn AS (
        INSERT INTO "{txn}" ("market_id", "kind", "label", "date", "created_at",
            "created_by_id", "idempotency_key", "reverses_id", "reason", "order_id")
        SELECT %(market)s, kind, label, date, %(now)s, %(posted_by)s, idempotency_key,
            NULL, '', order_id
        FROM posting ORDER BY n
        ON CONFLICT DO NOTHING RETURNING "id", "idempotency_key"
    ),
    entries AS (
        INSERT INTO "{entry}" ("transaction_id", "account_id", "amount")
        SELECT txn.id, leg.account_id, leg.amount
        FROM unnest(%(leg_keys)s::text[], %(leg_accounts)s::bigint[], %(leg_amounts)s::numeric[])
            WITH ORDINALITY AS leg (idempotency_key, account_id, amount, n)
        JOIN txn USING (idempotency_key)
        ORDER BY leg.n
        RETURNING "account_id", "amount"
    ),
    delta (id, amount) AS (
        SELECT account_id, sum(amount) FROM entries GROUP BY account_id
    ),
    {balances_sql(account)}
    SELECT txn.id, txn.idempotency_key,
        (SELECT count(*) FROM entries), (SELECT count(*) FROM balances)
    FROM txn
    """


def _check(market: Market, postings: Sequence[Posting]) -> None:
    keys = [posting.idempotency_key for posting in postings]
    if not all(keys) or len(set(keys)) != len(keys):
        raise LedgerError("each posting of a batch needs an idempotency key of its own")
    for posting in postings:
        _validate_legs(market, posting.legs)


def _params(txns: dict[str, Transaction], postings: Sequence[Posting]) -> dict:
    legs = [(posting.idempotency_key, leg) for posting in postings for leg in posting.legs]
    first = next(iter(txns.values()))
    return {
        "market": first.market_id,
        "now": first.created_at,
        "posted_by": first.created_by_id,
        "client": AccountKind.CLIENT.value,
        "kinds": [txn.kind for txn in txns.values()],
        "labels": [txn.label for txn in txns.values()],
        "dates": [txn.date for txn in txns.values()],
        "keys": list(txns),
        "orders": [txn.order_id for txn in txns.values()],
        "leg_keys": [key for key, _leg in legs],
        "leg_accounts": [leg.account.pk for _key, leg in legs],
        "leg_amounts": [leg.amount for _key, leg in legs],
    }


def _unsaved(market: Market, postings: Sequence[Posting], posted_by) -> dict[str, Transaction]:
    now = timezone.now()
    return {
        posting.idempotency_key: Transaction(
            market=market,
            kind=posting.kind,
            label=posting.label[:200],
            date=posting.date,
            created_at=now,
            created_by=posted_by,
            idempotency_key=posting.idempotency_key,
            order_id=posting.order_id,
        )
        for posting in postings
    }


def transactions_post_batch(
    *, market: Market, postings: Sequence[Posting], posted_by=None
) -> dict[str, tuple[Transaction, bool]]:
    """Post ``postings``, each its own transaction; return, per idempotency key,
    ``(transaction, created)``: ``created=False`` for a key already used in this
    market, whose first transaction is returned and nothing is posted again.

    Call it inside an atomic block: the whole batch commits or none of it.
    """
    _check(market, postings)
    if not postings:
        return {}
    txns = _unsaved(market, postings, posted_by)
    with connection.cursor() as cursor:
        cursor.execute(_sql(), _params(txns, postings))
        rows = cursor.fetchall()
    _check_written(postings, rows)
    result = {}
    for pk, key, _entries, _balances in rows:
        txn = txns[key]
        txn.pk, txn._state.adding, txn._state.db = pk, False, connection.alias
        result[key] = (txn, True)
    taken = [key for key in txns if key not in result]
    if taken:
        earlier = Transaction.objects.filter(market=market, idempotency_key__in=taken)
        result |= {txn.idempotency_key: (txn, False) for txn in earlier}
    return result


def _check_written(postings: Sequence[Posting], rows) -> None:
    """Every entry of each transaction inserted, every balance it touches updated."""
    if not rows:
        return
    inserted = {key for _pk, key, _e, _b in rows}
    legs = [leg for p in postings if p.idempotency_key in inserted for leg in p.legs]
    entries, balances = rows[0][2], rows[0][3]
    if (entries, balances) != (len(legs), len({leg.account.pk for leg in legs})):
        raise RuntimeError(f"batch: {entries} entries, {balances} balances written")


def payment_key(payment_id: int) -> str:
    """The idempotency key of an expected payment's posting once received: the
    payment itself, however it is confirmed (alone or in bulk)."""
    return f"payment:{payment_id}"


def payments_post(payments: Sequence[Payment], *, posted_by) -> dict[int, Transaction]:
    """Post each payment received (filled in: method, amount, cheque number, date)
    as its own transaction, in one batch: the method's money account debited,
    the client credited, keyed on the payment. Returns each payment's transaction.
    """
    if not payments:
        return {}
    market = payments[0].market
    clients = client_accounts([payment.membership for payment in payments])
    money = {}
    postings = []
    with stored_language():
        for payment in payments:
            method = PaymentMethod(payment.method)
            if method not in money:
                money[method] = market_account(market, METHOD_ACCOUNT[method])
            client = clients[payment.membership_id]
            postings.append(
                Posting(
                    kind=TransactionKind.PAYMENT,
                    label=str(payment_wording(method, payment.cheque_number)),
                    legs=[Leg(money[method], payment.amount), Leg(client, -payment.amount)],
                    idempotency_key=payment_key(payment.pk),
                    date=payment.paid_on,
                    order_id=payment.order_id,
                )
            )
    posted = transactions_post_batch(market=market, postings=postings, posted_by=posted_by)
    return {payment.pk: posted[payment_key(payment.pk)][0] for payment in payments}
