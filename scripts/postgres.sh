#!/usr/bin/env bash
# The PostgreSQL that `make run`, `make test` and CI use: found, or set up.
# Prints its URL (for DATABASE_URL) on stdout; what it does goes to stderr.
#
# - DATABASE_URL set: that one, untouched.
# - Else the local server on 127.0.0.1:5432 as user postgres, with the
#   database NAME (default: cagette) created when missing.
# - No server answering: as root on Debian, start the cluster, installing the
#   `postgresql` package first when it is missing; a stock cluster asks for a
#   password over TCP, so the postgres role is given the password `postgres`.
# - Otherwise one line saying what to install or set, and exit status 1.
#
# Usage: DATABASE_URL="$(scripts/postgres.sh [NAME])"
# Needs the project's Python (.venv, or $PYTHON) for the psycopg driver.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
NAME=${1:-cagette}
HOST=127.0.0.1
PORT=${LOCAL_POSTGRES_PORT:-5432}

if [ -n "${DATABASE_URL:-}" ]; then
  echo "$DATABASE_URL"
  exit 0
fi

say() { echo "$*" >&2; }
fail() { say "$*"; exit 1; }
is_root() { [ "$(id -u)" = "0" ]; }

# probe LOGIN: 0 when LOGIN (user[:password]) connects, 2 when the server
# answers but refuses it, 3 when nothing answers.
probe() {
  "$PY" - "$1" "$HOST" "$PORT" <<'PYEOF' 2>/dev/null
import sys

import psycopg

login, host, port = sys.argv[1:]
user, _, password = login.partition(":")
try:
    psycopg.connect(
        dbname="postgres", user=user, password=password or None, host=host, port=port,
        connect_timeout=3,
    ).close()
except psycopg.OperationalError as error:
    text = str(error).lower()
    sys.exit(3 if "refused" in text or "timeout" in text else 2)
PYEOF
}

# The login that works, on stdout; status 2 or 3 as `probe` when none does.
working_login() {
  local status
  for login in postgres postgres:postgres; do
    status=0
    probe "$login" || status=$?
    if [ "$status" = 0 ]; then
      echo "$login"
      return 0
    fi
    [ "$status" = 3 ] && return 3
  done
  return 2
}

cluster_start() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || return 1
    say "Installing PostgreSQL (Debian's postgresql package)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  if [ -z "$version" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
    pg_createcluster "$version" main >&2
  fi
  say "Starting PostgreSQL $version..."
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  local answer
  for _ in $(seq 1 30); do
    answer=0
    probe postgres || answer=$?
    [ "$answer" != 3 ] && return 0  # it answers, whether it lets postgres in or not
    sleep 1
  done
  return 1
}

if [ ! -x "$PY" ]; then
  fail "No Python environment at $PY: run \`make install\` first."
fi

status=0
login=$(working_login) || status=$?
if [ "$status" = 3 ]; then
  if is_root && { command -v pg_ctlcluster >/dev/null 2>&1 || command -v apt-get >/dev/null 2>&1; }; then
    cluster_start || fail "PostgreSQL did not start on $HOST:$PORT (see the messages above)."
    status=0
    login=$(working_login) || status=$?
  elif command -v pg_ctlcluster >/dev/null 2>&1; then
    fail "PostgreSQL is installed but does not answer on $HOST:$PORT: start it (sudo pg_ctlcluster $(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1) main start) or set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/cagette."
  else
    fail "No PostgreSQL answers on $HOST:$PORT: install it (sudo apt-get install postgresql) or set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/cagette."
  fi
fi
if [ "$status" = 2 ] && is_root && command -v psql >/dev/null 2>&1; then
  # A stock Debian cluster: peer login on the local socket, a password over TCP.
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >&2
  status=0
  login=$(working_login) || status=$?
fi
if [ "$status" != 0 ]; then
  fail "PostgreSQL on $HOST:$PORT refuses the user postgres without a password: set DATABASE_URL=postgres://USER:PASSWORD@$HOST:$PORT/cagette."
fi

"$PY" - "$login" "$HOST" "$PORT" "$NAME" <<'PYEOF'
import sys

import psycopg
from psycopg import sql

login, host, port, name = sys.argv[1:]
user, _, password = login.partition(":")
with psycopg.connect(
    dbname="postgres", user=user, password=password or None, host=host, port=port,
    autocommit=True,
) as connection:
    if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        print(f"Creating the database {name}...", file=sys.stderr)
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
PYEOF
echo "postgres://$login@$HOST:$PORT/$NAME"
