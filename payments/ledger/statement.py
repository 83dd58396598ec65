"""A posting's writes in one SQL statement: the transaction, its entries, the balances.

One round trip while the posting holds its locks. The statement inserts the
transaction (or nothing if its idempotency key, or the transaction it
reverses, is already taken: ``ON CONFLICT DO NOTHING``, so no error and no
savepoint), its entries, and adds each account's delta to its cached balance.
Every part hangs on the inserted row, so nothing at all is written when the
INSERT does nothing.

The rows of the accounts are locked in the one lock order of
`payments.ledger.posting` (client accounts by id, then the market's shared
accounts by id) before they are updated: a market's money account is held
from this statement to COMMIT only. The database still checks every invariant
itself: the deferred triggers of migrations 0002 and 0015 run on these rows as
on any others (balanced at COMMIT, append-only, entries only for a
transaction of the same database transaction).
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.db import connection

from ..models import Account, AccountKind, Entry, Transaction

TRANSACTION_FIELDS = (
    "market_id",
    "kind",
    "label",
    "date",
    "created_at",
    "created_by_id",
    "idempotency_key",
    "reverses_id",
    "reason",
    "order_id",
)


def _sql() -> str:
    txn, entry, account = (m._meta.db_table for m in (Transaction, Entry, Account))
    columns = ", ".join(f'"{name}"' for name in TRANSACTION_FIELDS)
    values = ", ".join(["%(" + name + ")s" for name in TRANSACTION_FIELDS])
    return f"""
    WITH txn AS (
        INSERT INTO "{txn}" ({columns}) VALUES ({values})
        ON CONFLICT DO NOTHING RETURNING "id"
    ),
    entries AS (
        INSERT INTO "{entry}" ("transaction_id", "account_id", "amount")
        SELECT txn.id, leg.account_id, leg.amount FROM txn,
            unnest(%(leg_accounts)s::bigint[], %(leg_amounts)s::numeric[])
            WITH ORDINALITY AS leg (account_id, amount, n)
        ORDER BY leg.n
        RETURNING "id"
    ),
    delta (id, amount) AS (
        SELECT * FROM unnest(%(delta_accounts)s::bigint[], %(delta_amounts)s::numeric[])
    ),
    locked AS (
        SELECT a.id FROM "{account}" a, txn
        WHERE a.id IN (SELECT id FROM delta)
        ORDER BY a.kind <> %(client)s, a.id
        FOR UPDATE OF a
    ),
    balances AS (
        UPDATE "{account}" a SET "balance" = a."balance" + delta.amount
        FROM delta JOIN locked USING (id)
        WHERE a.id = delta.id
        RETURNING a.id
    )
    SELECT txn.id, (SELECT count(*) FROM entries), (SELECT count(*) FROM balances) FROM txn
    """


def rows_write(txn: Transaction, legs: Sequence, deltas: Mapping[int, Decimal]) -> bool:
    """Write ``txn`` (unsaved), its ``legs`` and the balances; False if the
    transaction was already there (nothing written)."""
    deltas = {pk: delta for pk, delta in deltas.items() if delta}
    params = {name: getattr(txn, name) for name in TRANSACTION_FIELDS}
    params |= {
        "leg_accounts": [leg.account.pk for leg in legs],
        "leg_amounts": [leg.amount for leg in legs],
        "delta_accounts": list(deltas),
        "delta_amounts": list(deltas.values()),
        "client": AccountKind.CLIENT.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return False
    pk, entries, balances = row
    if entries != len(legs) or balances != len(deltas):
        raise RuntimeError(f"transaction {pk}: {entries} entries, {balances} balances written")
    txn.pk = pk
    txn._state.adding = False
    txn._state.db = connection.alias
    return True
