"""Each job's last error, kept for the Django admin (`models.JobError`).

procrastinate keeps no error text: a worker middleware, installed when the
queue's app is ready (``PROCRASTINATE_ON_APP_READY``), catches what a job
raises, writes it on the job's row of ``cagette_job_error`` and lets it go
on to the queue, which decides on a retry as before.
"""

import logging

logger = logging.getLogger(__name__)

KEEP = """
INSERT INTO cagette_job_error (job_id, task_name, error, at)
VALUES (%(job_id)s, %(task_name)s, %(error)s, now())
ON CONFLICT (job_id) DO UPDATE SET error = EXCLUDED.error, at = EXCLUDED.at
"""


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


async def job_error_keep(call_next, context, worker):
    """Worker middleware: run the job; on an error, keep its text, then raise it."""
    try:
        return await call_next()
    except Exception as error:
        job = context.job
        try:
            await context.app.connector.execute_query_async(
                KEEP, job_id=job.id, task_name=job.task_name, error=describe(error)
            )
        except Exception:  # the database away: the worker's log still has it
            logger.exception("Could not keep the error of job %s", job.id)
        raise


def on_app_ready(app) -> None:
    """``PROCRASTINATE_ON_APP_READY``: every worker keeps its jobs' errors."""
    middlewares = [*app.worker_defaults.get("worker_middleware", []), job_error_keep]
    app.worker_defaults = {**app.worker_defaults, "worker_middleware": middlewares}
