"""Run the queued jobs inside the test, on the test's own connection.

A test in a transaction (the default ``django_db``) cannot be seen by a worker
on another connection; `run_jobs` does what one worker round would: it takes
the jobs that are due, in the queue's order, runs each task in this thread and
records the outcome as procrastinate does (succeeded, failed, or back to
``todo`` later when the task's retry strategy says so). The fault tests start
real workers instead (tests/cagette/test_jobs_faults.py).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from dataclasses import dataclass

from django.db import connection
from procrastinate.contrib.django import app


@dataclass
class Ran:
    task: str
    args: dict
    outcome: str  # "succeeded", "failed" or "retry"
    error: BaseException | None = None


class _Job:
    """What a retry strategy reads of a job."""

    def __init__(self, job_id, task_name, attempts):
        self.id, self.task_name, self.attempts = job_id, task_name, attempts


def queued(task_name: str | None = None) -> list[dict]:
    """The jobs waiting (todo), oldest first, as ``{"task", "args", "lock"}``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT task_name, args, lock FROM procrastinate_jobs WHERE status = 'todo'"
            " AND (%s::text IS NULL OR task_name = %s) ORDER BY id",
            [task_name, task_name],
        )
        rows = cursor.fetchall()
    return [{"task": task, "args": _args(args), "lock": lock} for task, args, lock in rows]


def _args(args) -> dict:
    """Django reads jsonb as text (its JSONField decodes it)."""
    return json.loads(args) if isinstance(args, str) else args


def run_jobs(*, rounds: int = 10, raise_errors: bool = True) -> list[Ran]:
    """Run every due job, and those they defer, for at most ``rounds`` rounds.

    A job failing for good re-raises its error unless ``raise_errors`` is off,
    so that a test never hides a broken job.
    """
    done: list[Ran] = []
    for _ in range(rounds):
        due = _due()
        if not due:
            break
        for job_id, task_name, args, attempts in due:
            ran = _run(job_id, task_name, _args(args), attempts)
            done.append(ran)
            if ran.outcome == "failed" and raise_errors:
                raise ran.error
    return done


def _due():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, task_name, args, attempts FROM procrastinate_jobs WHERE status = 'todo'"
            " AND (scheduled_at IS NULL OR scheduled_at <= now()) ORDER BY priority DESC, id"
        )
        return cursor.fetchall()


def _run(job_id, task_name, args, attempts) -> Ran:
    task = app.tasks[task_name]
    _set(job_id, "doing")
    try:
        result = task.func(**args)
        if inspect.isawaitable(result):
            asyncio.run(result)
    except Exception as error:  # what the worker does with any error
        strategy = task.retry_strategy
        decision = strategy and strategy.get_retry_decision(
            exception=error, job=_Job(job_id, task_name, attempts)
        )
        if decision:
            _retry(job_id)
            return Ran(task_name, args, "retry", error)
        _set(job_id, "failed", attempts + 1)
        return Ran(task_name, args, "failed", error)
    _set(job_id, "succeeded", attempts + 1)
    return Ran(task_name, args, "succeeded")


def _set(job_id, status, attempts=None):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = %s, attempts = COALESCE(%s, attempts)"
            " WHERE id = %s",
            [status, attempts, job_id],
        )


def _retry(job_id):
    """Back to ``todo``, due in the future (a test moves time on with `make_due`)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'todo', attempts = attempts + 1,"
            " scheduled_at = now() + interval '1 hour' WHERE id = %s",
            [job_id],
        )


def make_due() -> None:
    """Bring every job waiting for a retry forward to now."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
