"""A job deferred by a worker's job is part of that job's transaction, as one deferred
by a request is of the request's: another worker sees it only once it commits, and
never if it rolls back (the outbox rule, in a worker as well)."""

import psycopg
import pytest
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from procrastinate.contrib.django import app

from accounts.outbox import email_queue
from cagette.jobs import defer
from payments.tasks import refund_send
from tests.workers import database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _jobs_seen_by_another_connection(task_name: str) -> int:
    with psycopg.connect(database_url(), autocommit=True) as other:
        query = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s"
        return other.execute(query, [task_name]).fetchone()[0]


class _Rollback(Exception):
    pass


@pytest.fixture
def as_in_a_worker():
    """The app's connector as ``manage.py procrastinate worker`` sets it: its own pool."""
    with app.replace_connector(app.connector.get_worker_connector()):
        yield


def test_in_a_worker_a_job_deferred_in_a_transaction_appears_at_its_commit(as_in_a_worker):
    with transaction.atomic():
        email_queue(EmailMultiAlternatives("Relance", "Bonjour", to=["a@exemple.fr"]), key="k1")
        assert _jobs_seen_by_another_connection("email_send") == 0  # not before the commit
    assert _jobs_seen_by_another_connection("email_send") == 1


def test_in_a_worker_a_job_deferred_in_a_transaction_that_rolls_back_is_not_queued(
    as_in_a_worker,
):
    with pytest.raises(_Rollback), transaction.atomic():
        configured = app.configure_task(refund_send.name, lock="refund-1")
        defer(configured, refund_id=1, first=True)
        raise _Rollback
    assert _jobs_seen_by_another_connection(refund_send.name) == 0


def test_a_job_deferred_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        defer(refund_send, refund_id=1)
    assert _jobs_seen_by_another_connection(refund_send.name) == 0
