"""More database-enforced ledger rules (PostgreSQL only).

* TRUNCATE of entries, transactions or accounts is refused. Row triggers
  (0002) do not fire on TRUNCATE, so a statement-level BEFORE TRUNCATE
  trigger guards each table. The one exception is a session that sets
  ``cagette.allow_truncate = on``: the test suite's flush between
  transactional tests does so, inside its own transaction (see
  ``tests/conftest.py``); the application never does.
* A transaction is closed once its database transaction has committed: an
  entry may only be added to a ledger transaction created in the current
  database transaction. Each transaction row records the id of the database
  transaction that created it (``created_txid``, set by a trigger whatever
  the INSERT says, and frozen by the append-only rule), and the entry
  insert trigger compares it with ``txid_current()``. ``txid_current()`` is
  the top-level id even inside a savepoint, where the row's own ``xmin``
  would be a subtransaction's. Rows already there get the migration's id,
  so they are closed too. A restore from ``pg_dump`` creates triggers after
  loading the data, so it is not affected; a data-only restore into an
  existing schema needs ``pg_restore --disable-triggers``, as the balance
  triggers of 0002 already required.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION ledger_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('cagette.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'ledger: TRUNCATE on % is not allowed; post a reversal instead', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER ledger_entry_no_truncate
    BEFORE TRUNCATE ON payments_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate();

CREATE TRIGGER ledger_transaction_no_truncate
    BEFORE TRUNCATE ON payments_transaction
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate();

CREATE TRIGGER ledger_account_no_truncate
    BEFORE TRUNCATE ON payments_account
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate();

ALTER TABLE payments_transaction
    ADD COLUMN created_txid bigint NOT NULL DEFAULT txid_current();

CREATE FUNCTION ledger_transaction_stamp_txid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_txid := txid_current();
    RETURN NEW;
END;
$$;

CREATE TRIGGER ledger_transaction_stamp_txid
    BEFORE INSERT ON payments_transaction
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_stamp_txid();

CREATE FUNCTION ledger_entry_open_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    created bigint;
BEGIN
    SELECT created_txid INTO created FROM payments_transaction WHERE id = NEW.transaction_id;
    IF FOUND AND created <> txid_current() THEN
        RAISE EXCEPTION 'ledger: transaction % is already committed; post a new transaction',
            NEW.transaction_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;  -- not found: the foreign key refuses the row
END;
$$;

CREATE TRIGGER ledger_entry_open_transaction
    BEFORE INSERT ON payments_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_open_transaction();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS ledger_entry_open_transaction ON payments_entry;
DROP FUNCTION IF EXISTS ledger_entry_open_transaction();
DROP TRIGGER IF EXISTS ledger_transaction_stamp_txid ON payments_transaction;
DROP FUNCTION IF EXISTS ledger_transaction_stamp_txid();
ALTER TABLE payments_transaction DROP COLUMN IF EXISTS created_txid;
DROP TRIGGER IF EXISTS ledger_account_no_truncate ON payments_account;
DROP TRIGGER IF EXISTS ledger_transaction_no_truncate ON payments_transaction;
DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON payments_entry;
DROP FUNCTION IF EXISTS ledger_no_truncate();
"""


def forward(apps, schema_editor):
    schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("payments", "0014_rejected_stripe_event")]

    operations = [migrations.RunPython(forward, backward)]
