#!/usr/bin/env bash
# Run the whole test suite on PostgreSQL: $DATABASE_URL when set, else the
# local server, started (and installed, as root) by scripts/postgres.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

DATABASE_URL="$(scripts/postgres.sh)" || exit 1
export DATABASE_URL
echo "Tests run on PostgreSQL (${DATABASE_URL%%@*}@...)."

"$PY" -m pytest "$@"
status=$?
if [ $status -eq 5 ]; then
  echo "No test was collected." >&2
fi
exit $status
