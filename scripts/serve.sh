#!/usr/bin/env bash
# `make run`: the demo on PostgreSQL (scripts/postgres.sh finds or sets it up),
# migrated and seeded, served on http://$HOST:$PORT/ by Django's development
# server with a job worker beside it (`manage.py procrastinate worker`: emails,
# Stripe calls, periodic jobs). Ctrl-C stops both; so does either one stopping.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
export DEBUG=${DEBUG:-1}

DATABASE_URL="$(scripts/postgres.sh)" || exit 1
export DATABASE_URL

"$PY" manage.py migrate --no-input
"$PY" manage.py seed_demo

# Background commands of a script ignore Ctrl-C's SIGINT: the trap stops them.
"$PY" manage.py procrastinate worker &
worker=$!
"$PY" manage.py runserver "$HOST:$PORT" &
web=$!

stop() {
  trap - INT TERM
  kill -TERM "$web" "$worker" 2>/dev/null || true
  wait "$web" "$worker" 2>/dev/null || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

echo "Serving on http://$HOST:$PORT/ with a job worker (database ${DATABASE_URL##*/}); Ctrl-C stops both."
status=0
wait -n || status=$?  # one of the two stopped by itself (a port taken, a crash)
if [ "$status" != 0 ]; then
  echo "The web server or the job worker stopped (status $status): stopping the other." >&2
fi
stop
exit "$status"
