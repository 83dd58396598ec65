"""Real job workers for the fault tests: ``manage.py procrastinate worker`` processes.

`start_worker` (a fixture) starts one worker process on the test database,
with the environment a test gives it (a mail server's address, Stripe's);
every worker is stopped at the end of the test, killed if it does not stop.
Tests that use it are ``django_db(transaction=True)``: a worker on its own
connection sees only what the test committed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
_running: list[Worker] = []  # the workers of the test now running, for a failure's report


def database_url() -> str:
    """The test database, as a URL a worker process reads."""
    db = settings.DATABASES["default"]
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class Worker:
    def __init__(self, process: subprocess.Popen, log: Path):
        self.process, self.log = process, log

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-job, as on a lost machine."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(tmp_path) -> Callable[..., Worker]:
    """``start_worker(EMAIL_URL=..., concurrency=2)``: a worker process, stopped after."""
    started: list[Worker] = []

    def _start(*, concurrency: int = 1, **env: str) -> Worker:
        log = tmp_path / f"worker-{len(started)}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DEBUG": "1",  # static files from the source folders, as in the tests
            "SECRET_KEY": "test-worker",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            # Fast heartbeats, so that a killed worker is found dead in seconds.
            "JOB_HEARTBEAT_SECONDS": "1",
            "JOB_STALLED_SECONDS": "3",
            **env,
        }
        environment.pop("PYTEST_VERSION", None)  # the real mail backend, not the tests' locmem
        command = [
            sys.executable,
            "manage.py",
            "procrastinate",
            "worker",
            f"--concurrency={concurrency}",
            "--fetch-job-polling-interval=0.2",
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
            )
        worker = Worker(process, log)
        started.append(worker)
        _running.append(worker)
        return worker

    yield _start
    for worker in started:
        worker.stop()
    _running.clear()


def wait_until(condition: Callable[[], bool], *, seconds: float = 30, what: str = "") -> None:
    """Poll ``condition`` (reading the database afresh) until true, or fail the test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection.close()  # a new snapshot each time
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"Not within {seconds} s: {what}\n{_queue_report()}")


def _queue_report() -> str:
    """The queue's jobs and the tail of each worker's output, to tell why a wait failed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, task_name, status, lock, queueing_lock, attempts, scheduled_at, args"
            " FROM procrastinate_jobs ORDER BY id"
        )
        jobs = [" ".join(str(value) for value in row) for row in cursor.fetchall()]
    lines = ["jobs:", *jobs]
    for index, worker in enumerate(_running):
        state = "running" if worker.process.poll() is None else f"exited {worker.process.poll()}"
        lines += [f"worker {index} ({state}):", *worker.output().splitlines()[-60:]]
    return "\n".join(lines)


def jobs_waiting() -> int:
    """Jobs due now that no worker has finished (todo or doing)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
            " AND (scheduled_at IS NULL OR scheduled_at <= now())"
        )
        return cursor.fetchone()[0]


def wait_for_jobs(*, seconds: float = 30) -> None:
    """Wait until the workers have run every job that is due."""
    wait_until(lambda: jobs_waiting() == 0, seconds=seconds, what="the workers to run the jobs")
