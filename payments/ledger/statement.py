"""A posting's writes in one SQL statement: the transaction, its entries, the balances.

One round trip while the posting holds its locks. The statement inserts the
transaction (or nothing if its idempotency key, or the transaction it
reverses, is already taken: ``ON CONFLICT DO NOTHING``, so no error and no
savepoint), its entries, and adds each account's delta to its cached balance.
Every part hangs on the inserted row, so nothing at all is written when the
INSERT does nothing.

Each account is named by a reference (`payments.ledger.accounts`): the
statement checks first that every one is the row it says (its market, kind
and client), and writes nothing otherwise (`StaleAccounts`).

The rows of the accounts are locked in the one lock order of
`payments.ledger.posting` (client accounts by id, then the market's shared
accounts by id) before they are updated: a market's money account is held
from this statement to COMMIT only. The database still checks every invariant
itself: the deferred triggers of migrations 0002 and 0015 run on these rows as
on any others (balanced at COMMIT, append-only, entries only for a
transaction of the same database transaction).
"""

import functools
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


class StaleAccounts(Exception):
    """An account reference is not its row (the row gone, or another one): nothing written."""


def _column_type(name: str) -> str:
    return Transaction._meta.get_field(name.removesuffix("_id")).db_type(connection)


def _record_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _record_sql(model) -> str:
    """The row written with the transaction (a payment, say), its ``transaction`` the new one."""
    fields = _record_fields(model)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    values = ", ".join(
        "txn.id" if f.name == "transaction" else f"%(record_{f.column})s::{f.db_type(connection)}"
        for f in fields
    )
    return f"""
    record AS (
        INSERT INTO "{model._meta.db_table}" ({columns}) SELECT {values} FROM txn RETURNING "id"
    ),"""


def balances_sql(account: str, *, gate: str = "") -> str:
    """The CTEs ``locked`` and ``balances``: each account of the CTE ``delta``
    (``id``, ``amount``) locked in the one lock order of `payments.ledger.posting`
    (client accounts by id, then the market's shared accounts by id), then its
    amount added to its cached balance. ``gate``: a CTE that must have a row
    (the inserted transaction) for anything to be locked."""
    source = f", {gate}" if gate else ""
    return f"""locked AS (
        SELECT a.id FROM "{account}" a{source}
        WHERE a.id IN (SELECT id FROM delta)
        ORDER BY a.kind <> %(client)s, a.id
        FOR UPDATE OF a
    ),
    balances AS (
        UPDATE "{account}" a SET "balance" = a."balance" + delta.amount
        FROM delta JOIN locked USING (id)
        WHERE a.id = delta.id
        RETURNING a.id
    )"""


@functools.cache
def _sql(record_model=None) -> str:
    txn, entry, account = (m._meta.db_table for m in (Transaction, Entry, Account))
    record = _record_sql(record_model) if record_model is not None else ""
    record_id = "(SELECT id FROM record)" if record_model is not None else "NULL"
    columns = ", ".join(f'"{name}"' for name in TRANSACTION_FIELDS)
    values = ", ".join(f"%({name})s::{_column_type(name)}" for name in TRANSACTION_FIELDS)
    return f"""
    WITH checked AS (
        SELECT count(*) AS n FROM "{account}" a JOIN unnest(
            %(ref_ids)s::bigint[], %(ref_markets)s::bigint[],
            %(ref_kinds)s::varchar[], %(ref_memberships)s::bigint[]
        ) AS ref (id, market_id, kind, membership_id)
        ON a.id = ref.id AND a.market_id = ref.market_id AND a.kind = ref.kind
            AND a.membership_id IS NOT DISTINCT FROM ref.membership_id
    ),
    txn AS (
        INSERT INTO "{txn}" ({columns})
        SELECT {values} FROM checked WHERE checked.n = %(ref_count)s
        ON CONFLICT DO NOTHING RETURNING "id"
    ),
    entries AS (
        INSERT INTO "{entry}" ("transaction_id", "account_id", "amount")
        SELECT txn.id, leg.account_id, leg.amount FROM txn,
            unnest(%(leg_accounts)s::bigint[], %(leg_amounts)s::numeric[])
            WITH ORDINALITY AS leg (account_id, amount, n)
        ORDER BY leg.n
        RETURNING "id"
    ),{record}
    delta (id, amount) AS (
        SELECT * FROM unnest(%(delta_accounts)s::bigint[], %(delta_amounts)s::numeric[])
    ),
    {balances_sql(account, gate="txn")}
    SELECT checked.n, txn.id, (SELECT count(*) FROM entries), (SELECT count(*) FROM balances),
        {record_id}
    FROM checked LEFT JOIN txn ON true
    """


def rows_write(
    txn: Transaction, legs: Sequence, deltas: Mapping[int, Decimal], record=None
) -> bool:
    """Write ``txn`` (unsaved), its ``legs`` and the balances; False if the
    transaction was already there (nothing written). `StaleAccounts` if an
    account of the legs is not the row it says (nothing written).

    ``record``: an unsaved row with a ``transaction`` key (a `Payment`),
    written in the same statement, pointing to ``txn``: the posting then
    holds its locks for no other round trip before COMMIT.
    """
    deltas = {pk: delta for pk, delta in deltas.items() if delta}
    accounts = list({leg.account.pk: leg.account for leg in legs}.values())
    params = {name: getattr(txn, name) for name in TRANSACTION_FIELDS}
    params |= {
        "ref_ids": [a.pk for a in accounts],
        "ref_markets": [a.market_id for a in accounts],
        "ref_kinds": [str(a.kind) for a in accounts],
        "ref_memberships": [a.membership_id for a in accounts],
        "ref_count": len(accounts),
        "leg_accounts": [leg.account.pk for leg in legs],
        "leg_amounts": [leg.amount for leg in legs],
        "delta_accounts": list(deltas),
        "delta_amounts": list(deltas.values()),
        "client": AccountKind.CLIENT.value,
    }
    if record is not None:
        for field in _record_fields(type(record)):
            if field.name != "transaction":
                value = field.pre_save(record, add=True)
                params[f"record_{field.column}"] = field.get_db_prep_save(value, connection)
    with connection.cursor() as cursor:
        cursor.execute(_sql(None if record is None else type(record)), params)
        checked, pk, entries, balances, record_pk = cursor.fetchone()
    if checked != len(accounts):
        raise StaleAccounts([a.pk for a in accounts])
    if pk is None:
        return False
    if entries != len(legs) or balances != len(deltas):
        raise RuntimeError(f"transaction {pk}: {entries} entries, {balances} balances written")
    txn.pk = pk
    txn._state.adding = False
    txn._state.db = connection.alias
    if record is not None:
        record.pk, record.transaction = record_pk, txn
        record._state.adding = False
        record._state.db = connection.alias
    return True
