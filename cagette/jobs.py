"""Work done outside the web request: the job queue's shared rules.

The queue is procrastinate, on the PostgreSQL that holds everything else. A
request that decides an effect (an email, a call to Stripe) records it and
defers its job *in the same database transaction* (`defer`): the commit makes
both exist, a rollback neither. A worker (``manage.py procrastinate worker``)
runs the job later, as many times as it takes, so every job is idempotent: it
reads the row that records the intent, does nothing when the effect is
already done, and holds that row's lock while doing it.

Failures come in two kinds:

- `Temporary` (a mail server or Stripe down, slow or rate limiting): the job
  raises it and the queue tries again, 30 s later, then twice as long each
  time up to an hour, for 26 hours (`RETRY`; figures from the settings);
- anything else is permanent (an address refused, Stripe refusing): the job
  records it on its row, where the admin sees it, and stops.

A job whose worker died (killed, machine lost) is found by `jobs_unstall`, a
periodic job of this module, and given back to the queue.
"""

import logging
import math
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from procrastinate import RetryDecision
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.jobs import JobDeferrer
from procrastinate.manager import JobManager
from procrastinate.retry import BaseRetryStrategy

logger = logging.getLogger(__name__)


class Temporary(Exception):
    """A failure worth waiting for: the job will be tried again later."""


def retry_wait(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed try (0 for the first)."""
    return min(settings.JOB_RETRY_FIRST * 2**attempts, settings.JOB_RETRY_LONGEST)


def retry_attempts() -> int:
    """How many tries fill JOB_RETRY_FOR_HOURS with the waits of `retry_wait`."""
    horizon = timedelta(hours=settings.JOB_RETRY_FOR_HOURS).total_seconds()
    waited, attempts = 0, 0
    while waited < horizon:
        waited += retry_wait(attempts)
        attempts += 1
    return attempts + 1


class Backoff(BaseRetryStrategy):
    """Try again on `Temporary` only, waiting longer each time (see the module)."""

    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        if not isinstance(exception, Temporary):
            return None
        if job.attempts + 1 >= retry_attempts():
            logger.error("Job %s (%s) given up after %s tries", job.id, job.task_name, job.attempts)
            return None
        return RetryDecision(retry_in={"seconds": retry_wait(job.attempts)})


RETRY = Backoff()


# Jobs are written through Django's own connection, always. In a worker the
# app's connector is the worker's pool, whose connection is not the one a job
# holds its transaction on: a job deferred by a job through it would be
# committed at once, seen by another worker before the rows it reads exist,
# and kept when the transaction that decided it rolls back.
_JOBS = JobManager(DjangoConnector())


def defer(task, **kwargs) -> None:
    """Defer ``task`` (a task, or one configured with its locks) with ``kwargs`` in
    the current transaction (the outbox rule), in a request as in a job.

    Called outside an atomic block, it would commit the job on its own, apart
    from the write that decided it: refused, so that no caller forgets. A
    queueing lock already taken raises procrastinate's ``AlreadyEnqueued``.
    """
    deferrer = task if isinstance(task, JobDeferrer) else task.configure()
    if not transaction.get_connection().in_atomic_block:
        name = deferrer.job.task_name
        raise RuntimeError(f"{name} must be deferred inside the transaction that decides it")
    _JOBS.defer_job(deferrer.make_new_job(**kwargs))


# A worker that sends no heartbeat for this long is dead: its jobs go back.
STALLED_AFTER_SECONDS = math.ceil(settings.PROCRASTINATE_WORKER_DEFAULTS["stalled_worker_timeout"])


@app.periodic(cron=settings.JOB_SCHEDULE_UNSTALL, periodic_id="jobs_unstall")
@app.task(name="jobs_unstall", queueing_lock="jobs_unstall", pass_context=True)
async def jobs_unstall(context, timestamp: int) -> int:
    """Give back to the queue the jobs of workers that stopped sending heartbeats."""
    stalled = await context.app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=STALLED_AFTER_SECONDS
    )
    for job in stalled:
        logger.warning("Job %s (%s) of a dead worker is given back", job.id, job.task_name)
        await context.app.job_manager.retry_job(job)
    return len(stalled)
