"""Shared fixtures, and the rule for tests that need Chromium.

Every test runs on PostgreSQL, the one database (a test marked ``postgres``
leans on it especially: triggers, row locks, concurrency). A test marked
``browser`` drives Debian's Chromium: where it is missing the test is skipped
with the reason, except under CI (``CI=true``), where it fails instead.
"""

import os

import pytest
from django.db.backends.postgresql.operations import DatabaseOperations

from accounts.models import Role

from .factories import PASSWORD, MarketFactory, MembershipFactory
from .workers import start_worker  # noqa: F401 -- a fixture for every test module

# Playwright's sync API runs an event loop in the test thread; the ORM calls
# made by the test itself stay synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


JOB_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
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
        if tables:  # the job queue's tables too (unmanaged models): no job outlives its test
            tables = [*tables, *(t for t in JOB_TABLES if t not in tables)]
        statements = original(self, style, tables, **kwargs)
        if statements:
            statements.insert(0, "SET LOCAL cagette.allow_truncate = 'on';")
        return statements

    DatabaseOperations.sql_flush = sql_flush


_flush_allowed_to_truncate_the_ledger()


def _missing_requirement(item) -> str | None:
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


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Files the app stores (exports) go to the test's own folder, never to media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
