import os
import secrets
import subprocess
import sys
from pathlib import Path

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
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_make_run_s_database_set_up_works_with_no_database_configured(tmp_path):
    # `make run` with nothing set migrates a fresh SQLite file and loads the demo.
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    for command in (("migrate", "--no-input"), ("seed_demo",)):
        result = _manage(*command, DEBUG="1", DATABASE_URL=database)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "admin@demo.cagette.fr" in result.stdout


def test_every_model_change_has_its_migration():
    result = _manage("makemigrations", "--check", "--dry-run", DEBUG="1")
    assert result.returncode == 0, result.stdout + result.stderr
