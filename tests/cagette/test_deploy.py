import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.smtp import free_port
from tests.workers import database_url

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, **env):
    # Outside the test run: no pytest marker, no test-only async switch.
    dropped = {"PYTEST_VERSION", "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL"}
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_is_clean_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="paiements.example.org",
        DATABASE_URL="postgres://cagette@db.example.org/cagette",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_database_url():
    result = _manage("check", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode != 0
    assert "DATABASE_URL must be set" in result.stderr


def test_postgresql_is_the_one_database():
    result = _manage("check", DEBUG="1", DATABASE_URL="mysql://cagette@127.0.0.1/cagette")
    assert result.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL database" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_every_model_change_has_its_migration():
    result = _manage("makemigrations", "--check", "--dry-run", DEBUG="1")
    assert result.returncode == 0, result.stdout + result.stderr


# `make run` and `make test`: scripts/postgres.sh finds the database, then
# scripts/serve.sh migrates, seeds and serves the demo with a job worker.


def _outside_the_tests(**env) -> dict:
    dropped = {"PYTEST_VERSION", "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL"}
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment.update(env)
    return environment


def _sql(url: str, statement: str, params=()) -> list:
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def fresh_database():
    """The URL of an empty database of its own on the test database's server."""
    name = f"cagette_deploy_{secrets.token_hex(4)}"
    server = database_url().rsplit("/", 1)[0]  # the test database's server and login
    _sql(f"{server}/postgres", f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    _sql(f"{server}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _local_server() -> bool:
    """The tests run on the server and login that scripts/postgres.sh tries first.

    Elsewhere the script, run as root, could set the postgres role's password.
    """
    db = settings.DATABASES["default"]
    local = (db["HOST"] or "127.0.0.1") in ("127.0.0.1", "localhost")
    login = (db["USER"] or "postgres", db["PASSWORD"] or "")
    return local and int(db["PORT"] or 5432) == 5432 and login in LOGINS_TRIED


LOGINS_TRIED = {("postgres", ""), ("postgres", "postgres")}


@pytest.mark.skipif(not _local_server(), reason="the tests' PostgreSQL is not the local one")
def test_without_a_database_url_the_local_postgresql_is_used_and_its_database_created():
    name = f"cagette_deploy_{secrets.token_hex(4)}"
    result = subprocess.run(
        ["scripts/postgres.sh", name],
        cwd=ROOT,
        env=_outside_the_tests(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    admin = database_url().rsplit("/", 1)[0] + "/postgres"
    try:
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("postgres://postgres")
        assert result.stdout.strip().endswith(f"@127.0.0.1:5432/{name}")
        assert _sql(admin, "SELECT 1 FROM pg_database WHERE datname = %s", [name]) == [(1,)]
    finally:
        _sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_without_postgresql_and_without_root_one_line_says_what_to_install(tmp_path):
    (tmp_path / "id").write_text("#!/bin/sh\necho 1000\n")  # not root: nothing installed
    (tmp_path / "id").chmod(0o755)
    environment = _outside_the_tests(
        LOCAL_POSTGRES_PORT=str(free_port()), PATH=f"{tmp_path}:{os.environ['PATH']}"
    )

    result = subprocess.run(
        ["scripts/postgres.sh"], cwd=ROOT, env=environment, capture_output=True, text=True
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "PostgreSQL" in result.stderr and "DATABASE_URL=postgres://" in result.stderr


def test_make_run_serves_the_demo_with_a_job_worker_and_ctrl_c_stops_both(fresh_database, tmp_path):
    port, log = free_port(), tmp_path / "serve.log"
    environment = _outside_the_tests(DATABASE_URL=fresh_database, PORT=str(port))
    with log.open("wb") as out:
        serve = subprocess.Popen(
            ["scripts/serve.sh"],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's process group, for Ctrl-C
        )
    try:
        _wait_for(lambda: _status(port, "/connexion/") == 200, log, serve, seconds=240)
        assert "admin@demo.cagette.fr" in log.read_text()

        _email_queue(fresh_database, key="make-run")
        sent = "SELECT status FROM accounts_outgoingemail WHERE key = 'make-run'"
        _wait_for(lambda: _sql(fresh_database, sent) == [("sent",)], log, serve, seconds=60)
        assert "Subject: Essai du worker" in log.read_text()  # the console backend

        os.killpg(serve.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        serve.wait(timeout=30)
        _wait_for(lambda: not _group_alive(serve.pid), log, None, seconds=20)
    finally:
        if _group_alive(serve.pid):
            os.killpg(serve.pid, signal.SIGKILL)
        serve.wait(timeout=10)


_EMAIL_QUEUE = """
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from accounts.outbox import email_queue
message = EmailMultiAlternatives("Essai du worker", "Bonjour", to=["client@demo.cagette.fr"])
with transaction.atomic():
    email_queue(message, key="{key}")
"""


def _email_queue(url: str, *, key: str) -> None:
    code = _EMAIL_QUEUE.format(key=key)
    result = _manage("shell", "-c", code, DEBUG="1", DATABASE_URL=url)
    assert result.returncode == 0, result.stdout + result.stderr


def _status(port: int, path: str) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status
    except (OSError, urllib.error.HTTPError):
        return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(condition, log: Path, process, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.3)
    raise AssertionError(f"Not within {seconds} s:\n{log.read_text()[-5000:]}")
