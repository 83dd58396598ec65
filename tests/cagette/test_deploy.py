import os
import secrets
import subprocess
import sys
from pathlib import Path

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


def test_make_run_s_database_set_up_migrates_a_fresh_database_and_loads_the_demo():
    # What `make run` does once the local PostgreSQL answers, on a database of its own.
    name = f"cagette_deploy_{secrets.token_hex(4)}"
    server = database_url().rsplit("/", 1)[0]  # the test database's server and login
    admin = f"{server}/postgres"
    subprocess.run([sys.executable, "-c", _SQL, admin, f'CREATE DATABASE "{name}"'], check=True)
    try:
        database = f"{server}/{name}"
        for command in (("migrate", "--no-input"), ("seed_demo",)):
            result = _manage(*command, DEBUG="1", DATABASE_URL=database)
            assert result.returncode == 0, result.stdout + result.stderr
        assert "admin@demo.cagette.fr" in result.stdout
    finally:
        subprocess.run(
            [sys.executable, "-c", _SQL, admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
            check=True,
        )


_SQL = """
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as connection:
    connection.execute(sys.argv[2])
"""


def test_every_model_change_has_its_migration():
    result = _manage("makemigrations", "--check", "--dry-run", DEBUG="1")
    assert result.returncode == 0, result.stdout + result.stderr
