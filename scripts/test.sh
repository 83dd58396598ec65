#!/usr/bin/env bash
# Run the whole test suite: on $DATABASE_URL when set, else on a local
# PostgreSQL (started if it can be), else on SQLite with the PostgreSQL-only
# tests skipped and listed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
LOCAL_URL="postgres://postgres@127.0.0.1:5432/cagette"

pg_up() {
  "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, psycopg, environ
cfg = environ.Env.db_url_config(sys.argv[1])
psycopg.connect(dbname="postgres", user=cfg["USER"] or None, password=cfg["PASSWORD"] or None,
                host=cfg["HOST"] or None, port=cfg["PORT"] or None, connect_timeout=3).close()
PYEOF
}

if [ -z "${DATABASE_URL:-}" ]; then
  if ! pg_up "$LOCAL_URL" && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "Starting the local PostgreSQL..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >/dev/null 2>&1 || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do pg_up "$LOCAL_URL" && break; sleep 1; done
  fi
  if pg_up "$LOCAL_URL"; then
    export DATABASE_URL="$LOCAL_URL"
  fi
fi

if [ -n "${DATABASE_URL:-}" ]; then
  echo "Tests run on PostgreSQL (${DATABASE_URL%%@*}@...)."
else
  echo "PostgreSQL is not reachable: tests run on SQLite."
  echo "Tests marked 'postgres' (database triggers, row locks, concurrency) are SKIPPED; see the summary."
fi

"$PY" -m pytest "$@"
status=$?
if [ $status -eq 5 ]; then
  echo "No test was collected." >&2
fi
exit $status
