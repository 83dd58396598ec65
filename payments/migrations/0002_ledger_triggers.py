"""Database-enforced ledger rules.

* A transaction's entries sum to zero and there are at least two of them:
  deferred constraint triggers, checked at COMMIT, so the service can insert
  a transaction and then its entries in one database transaction.
* Entries and transactions are append-only: UPDATE and DELETE are refused.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    txn_id bigint;
    total numeric;
    n integer;
BEGIN
    IF TG_TABLE_NAME = 'payments_entry' THEN
        txn_id := NEW.transaction_id;
    ELSE
        txn_id := NEW.id;
    END IF;
    SELECT COALESCE(SUM(amount), 0), COUNT(*) INTO total, n
      FROM payments_entry WHERE transaction_id = txn_id;
    IF n < 2 THEN
        RAISE EXCEPTION 'ledger: transaction % has % entries; at least 2 are required', txn_id, n
            USING ERRCODE = 'check_violation';
    END IF;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger: transaction % is unbalanced (entries sum to %)', txn_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT ON payments_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT ON payments_transaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % is not allowed; post a reversal instead', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER ledger_entry_append_only
    BEFORE UPDATE OR DELETE ON payments_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE TRIGGER ledger_transaction_append_only
    BEFORE UPDATE OR DELETE ON payments_transaction
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS ledger_transaction_append_only ON payments_transaction;
DROP TRIGGER IF EXISTS ledger_entry_append_only ON payments_entry;
DROP FUNCTION IF EXISTS ledger_append_only();
DROP TRIGGER IF EXISTS ledger_transaction_balanced ON payments_transaction;
DROP TRIGGER IF EXISTS ledger_entry_balanced ON payments_entry;
DROP FUNCTION IF EXISTS ledger_check_balanced();
"""


def forward(apps, schema_editor):
    schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
