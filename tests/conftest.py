"""Shared fixtures, and the rules for tests that need PostgreSQL or Chromium.

A test marked ``postgres`` needs the real database of record (triggers, row
locks, concurrency); one marked ``browser`` drives Debian's Chromium. Where
either is missing the test is skipped with the reason, except under CI
(``CI=true``), where a missing requirement fails the test instead.
"""

import os

import pytest
from django.conf import settings
from django.db.backends.postgresql.operations import DatabaseOperations

from accounts.models import Role

from .factories import PASSWORD, MarketFactory, MembershipFactory
from .workers import start_worker  # noqa: F401 -- a fixture for every test module

# Playwright's sync API runs an event loop in the test thread; the ORM calls
# made by the test itself stay synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# The job queue's tables are not Django's to manage, so the flush would leave
# them: the jobs a ``transaction=True`` test deferred, about rows since
# flushed, would then be run by the next test that runs the queued jobs.
QUEUE_TABLES = (
    "procrastinate_events",
    "procrastinate_jobs",
    "procrastinate_periodic_defers",
    "procrastinate_workers",
)


def _flush_allowed_to_truncate_the_ledger():
    """Let the test flush (TRUNCATE between ``transaction=True`` tests) pass the ledger,
    and empty the job queue with the rest.

    The database refuses TRUNCATE of the ledger tables unless the session sets
    ``cagette.allow_truncate`` (payments migration 0012). The flush sets it
    for its own database transaction only (``SET LOCAL``, and Django runs the
    flush in one atomic block), so every test still meets the rule.
    """
    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        if tables:
            tables = [*tables, *QUEUE_TABLES]
        statements = original(self, style, tables, **kwargs)
        if statements:
            statements.insert(0, "SET LOCAL cagette.allow_truncate = 'on';")
        return statements

    DatabaseOperations.sql_flush = sql_flush


_flush_allowed_to_truncate_the_ledger()


def _database_is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _missing_requirement(item) -> str | None:
    if item.get_closest_marker("postgres") and not _database_is_postgres():
        return "needs PostgreSQL (set DATABASE_URL or start a local server); running on SQLite"
    if item.get_closest_marker("browser") and not os.path.exists(CHROMIUM):
        return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_runtest_setup(item):
    reason = _missing_requirement(item)
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI requires every test to run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def market(db):
    return MarketFactory(name="Marché de Montreuil", slug="montreuil")


@pytest.fixture
def other_market(db):
    return MarketFactory(name="AMAP des Lilas", slug="lilas")


@pytest.fixture
def admin(market):
    return MembershipFactory(market=market, role=Role.ADMIN)


@pytest.fixture
def treasurer(market):
    return MembershipFactory(market=market, role=Role.TREASURER)


@pytest.fixture
def member(market):
    """A client of ``market``."""
    return MembershipFactory(market=market, role=Role.CLIENT)


@pytest.fixture
def other_admin(other_market):
    """An admin of another market: sees nothing of ``market``."""
    return MembershipFactory(market=other_market, role=Role.ADMIN)


@pytest.fixture
def login(client):
    """``login(membership)`` signs that person in on the Django test client."""

    def _login(membership):
        assert client.login(username=membership.user.email, password=PASSWORD)
        return client

    return _login
