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
from this statement to COMMIT only. When the posting is all its caller's
outermost atomic block does (``commit``), COMMIT goes with the statement, in
the same round trip: the money account is then held inside the database only,
never while the posting's process waits for its turn on a busy machine. The
database still checks every invariant itself: the deferred triggers of
migrations 0002 and 0015 run on these rows as on any others (balanced at
COMMIT, append-only, entries only for a transaction of the same database
transaction).
"""

import functools
from collections.abc import Mapping, Sequence
from decimal import Decimal

import psycopg
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from psycopg.pq import TransactionStatus

from ..models import BALANCE_SLOTS, Account, AccountKind, BalanceSlot, Entry, Transaction

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
    """The CTEs that add each amount of the CTE ``delta`` (``id``, ``amount``)
    to its account's cached balance, ending with ``balances`` (a row per
    account). In the one lock order of `payments.ledger.posting`: the client
    accounts' rows first, locked by id and updated (``locked``, ``owned``);
    then, once they are, each shared account's part of this connection
    (`BalanceSlot`), by account id, created or added to (``shares``): two
    postings on different connections do not wait on each other there.
    Rows are locked as an UPDATE locks them (``FOR NO KEY UPDATE``): the
    checks of the keys that point to an account (an entry, a part) still go
    through. ``gate``: a CTE that must have a row (the inserted transaction) for
    anything to be locked."""
    slot = BalanceSlot._meta.db_table
    source = f", {gate}" if gate else ""
    return f"""locked AS (
        SELECT a.id FROM "{account}" a{source}
        WHERE a.id IN (SELECT id FROM delta) AND a.kind = %(client)s
        ORDER BY a.id
        FOR NO KEY UPDATE OF a
    ),
    owned AS (
        UPDATE "{account}" a SET "balance" = a."balance" + delta.amount
        FROM delta JOIN locked USING (id)
        WHERE a.id = delta.id
        RETURNING a.id
    ),
    shares AS (
        INSERT INTO "{slot}" AS s ("account_id", "slot", "balance")
        SELECT delta.id, pg_backend_pid() %% {BALANCE_SLOTS}, delta.amount
        FROM delta JOIN "{account}" a ON a.id = delta.id AND a.kind <> %(client)s{source}
        WHERE (SELECT count(*) FROM owned) >= 0 -- run once the client rows are locked
        ORDER BY delta.id
        ON CONFLICT ("account_id", "slot")
        DO UPDATE SET "balance" = s."balance" + EXCLUDED."balance"
        RETURNING s.account_id AS id
    ),
    balances AS (
        SELECT id FROM owned UNION ALL SELECT id FROM shares
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


def _ends_transaction() -> bool:
    """Whether the atomic block the posting runs in is the outermost one,
    with no savepoint and nothing failed: its COMMIT can then go with the statement."""
    return (
        len(connection.atomic_blocks) == 1
        and not connection.savepoint_ids
        and not connection.needs_rollback
    )


class _PreparedDebugCursor(CursorDebugWrapper):
    """Django's query log, for a statement bound on the server: its text, with
    its placeholders (psycopg keeps no copy with the values of a prepared one)."""

    def execute(self, sql, params=None):
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


def _server_cursor():
    """A cursor that binds its parameters on the server, so that PostgreSQL
    plans the statement once per connection (``prepare_threshold`` in the
    settings), wrapped as Django wraps its own (query log, execute wrappers)."""
    cursor = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return _PreparedDebugCursor(cursor, connection)
    return connection.make_cursor(cursor)


def _execute(sql: str, params: dict, *, commit: bool) -> tuple:
    """The statement's one row, the statement prepared. With ``commit``, the
    database transaction ends with the statement, in the same round trip: the
    statement alone when it is the transaction's first (PostgreSQL then
    commits it by itself), else followed by COMMIT. Django's own COMMIT, at
    the end of the block, then has nothing left to do; an error leaves the
    block to roll back as usual."""
    connection.ensure_connection()
    raw = connection.connection
    if commit and raw.info.transaction_status != TransactionStatus.IDLE:
        with connection.cursor() as cursor:  # binds on the client: two statements in one
            cursor.execute(f"{sql};\nCOMMIT", params)
            return cursor.fetchone()
    with _server_cursor() as cursor:
        if not commit:
            cursor.execute(sql, params)
            return cursor.fetchone()
        raw.autocommit = True
        try:
            cursor.execute(sql, params)
            return cursor.fetchone()
        finally:
            raw.autocommit = False


def _params(txn: Transaction, legs: Sequence, accounts: list, deltas: dict, record) -> dict:
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
    return params


def rows_write(
    txn: Transaction,
    legs: Sequence,
    deltas: Mapping[int, Decimal],
    record=None,
    *,
    commit: bool = False,
) -> bool:
    """Write ``txn`` (unsaved), its ``legs`` and the balances; False if the
    transaction was already there (nothing written). `StaleAccounts` if an
    account of the legs is not the row it says (nothing written).

    ``record``: an unsaved row with a ``transaction`` key (a `Payment`),
    written in the same statement, pointing to ``txn``: the posting then
    holds its locks for no other round trip before COMMIT.

    ``commit``: nothing follows in the caller's atomic block; when that block
    is the outermost one, the database transaction ends with this statement
    (see `_execute`), whatever it wrote.
    """
    deltas = {pk: delta for pk, delta in deltas.items() if delta}
    accounts = list({leg.account.pk: leg.account for leg in legs}.values())
    params = _params(txn, legs, accounts, deltas, record)
    sql = _sql(None if record is None else type(record))
    row = _execute(sql, params, commit=commit and _ends_transaction())
    checked, pk, entries, balances, record_pk = row
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
