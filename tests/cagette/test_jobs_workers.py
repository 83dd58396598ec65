"""The job queue with real workers: a mail server down then up, periodic jobs on their
schedule, a worker killed mid-job, two workers sharing 200 jobs; one effect each time."""

import itertools
import time

import pytest
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction

from accounts.models import EmailStatus, OutgoingEmail
from accounts.outbox import email_queue
from payments.models import LedgerCheckRun
from tests.smtp import MailServer, free_port
from tests.workers import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_an_email_queued_while_the_mail_server_is_down_is_delivered_once_it_is_up(
    start_worker,
):
    port = free_port()
    with transaction.atomic():
        email = email_queue(
            EmailMultiAlternatives("Votre commande", "Bonjour", to=["client@exemple.fr"]),
            key="test:down-then-up",
        )
    worker = start_worker(EMAIL_URL=f"smtp://127.0.0.1:{port}", JOB_RETRY_FIRST="1")

    wait_until(
        lambda: OutgoingEmail.objects.get(pk=email.pk).attempts >= 1,
        what="a first try against the closed port",
    )
    assert OutgoingEmail.objects.get(pk=email.pk).status == EmailStatus.PENDING

    server = MailServer(port).start()
    try:
        wait_until(
            lambda: OutgoingEmail.objects.get(pk=email.pk).status == EmailStatus.SENT,
            what="delivery once the server is up\n" + worker.output(),
        )
        assert [m["Subject"] for m in server.messages] == ["Votre commande"]
    finally:
        server.stop()


# -- Periodic jobs, scheduled by the queue itself ----------------------------------------

NEVER = "0 0 1 1 *"  # midnight on New Year's Day: not during a test
QUIET = {
    "JOB_SCHEDULE_STRIPE_RECONCILE": NEVER,
    "JOB_SCHEDULE_TRANSFER_REMINDERS": NEVER,
    "JOB_SCHEDULE_CHECK_LEDGER": NEVER,
    "STRIPE_API_BASE": "http://127.0.0.1:9",  # nothing reaches Stripe
}


def _finished_runs() -> int:
    return LedgerCheckRun.objects.filter(finished_at__isnull=False).count()


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_a_periodic_job_runs_on_its_schedule(start_worker):
    started = time.monotonic()
    worker = start_worker(**{**QUIET, "JOB_SCHEDULE_CHECK_LEDGER": "* * * * * */2"})

    wait_until(lambda: _finished_runs() >= 4, seconds=60, what="4 runs\n" + worker.output())

    runs = list(LedgerCheckRun.objects.order_by("scheduled_for"))
    due = [run.scheduled_for.timestamp() for run in runs]
    gaps = [later - earlier for earlier, later in itertools.pairwise(due)]
    assert all(moment % 2 == 0 for moment in due)  # every even second, as scheduled
    assert gaps and all(gap > 0 and gap % 2 == 0 for gap in gaps)  # one run per due time
    assert all(run.ok for run in runs if run.finished_at)
    print(f"\n4 runs every 2 s: {time.monotonic() - started:.1f} s from the worker's start")


def test_two_workers_never_run_one_periodic_job_twice_for_one_due_time(start_worker):
    every_second = {**QUIET, "JOB_SCHEDULE_CHECK_LEDGER": "* * * * * *"}
    workers = [start_worker(**every_second), start_worker(**every_second)]
    wait_until(
        lambda: _rows("SELECT count(*) FROM procrastinate_workers")[0][0] == 2,
        what="both workers up",
    )
    wait_until(lambda: _finished_runs() >= 8, seconds=60, what="8 runs\n" + workers[1].output())
    for worker in workers:
        worker.stop()

    due = [run.scheduled_for for run in LedgerCheckRun.objects.all()]
    assert len(due) == len(set(due)) >= 8
    jobs = _rows(
        "SELECT args->>'timestamp', count(*) FROM procrastinate_jobs"
        " WHERE task_name = 'check_ledger' GROUP BY 1"
    )
    assert {count for _, count in jobs} == {1}  # each due time deferred once
    assert {int(moment.timestamp()) for moment in due} <= {int(stamp) for stamp, _ in jobs}
    print(f"\n2 workers, every second: {len(due)} due times, one run each")


# -- A worker killed in the middle of a job ----------------------------------------------


def test_a_job_of_a_killed_worker_is_taken_up_by_another_with_one_effect(start_worker):
    port = free_port()
    server = MailServer(port, delay=3).start()  # 3 s to accept each recipient
    try:
        with transaction.atomic():
            email = email_queue(
                EmailMultiAlternatives("Rappel", "Bonjour", to=["client@exemple.fr"]),
                key="test:killed-worker",
            )
        unstall = {**QUIET, "EMAIL_URL": f"smtp://127.0.0.1:{port}"}
        unstall["JOB_SCHEDULE_UNSTALL"] = "* * * * * *"  # every second
        first = start_worker(**unstall)
        wait_until(lambda: server.recipients_seen == 1, what="the first worker mid-job")
        first.kill()  # SIGKILL while it waits for the mail server
        killed = time.monotonic()

        second = start_worker(**unstall)
        wait_until(
            lambda: OutgoingEmail.objects.get(pk=email.pk).status == EmailStatus.SENT,
            seconds=60,
            what="the second worker sends it\n" + second.output(),
        )
        taken_up = time.monotonic() - killed
        time.sleep(4)  # were the first try to come back, it would be by now

        assert [m["Subject"] for m in server.messages] == ["Rappel"]
        assert server.recipients_seen == 2  # the first try, cut short; the second
        assert OutgoingEmail.objects.get(pk=email.pk).attempts == 1  # the cut try left none
        assert "of a dead worker is given back" in second.output()
        print(f"\nkilled mid-job: sent once by the second worker {taken_up:.1f} s after")
    finally:
        server.stop()


# -- Two workers, 200 jobs ------------------------------------------------------------------


def test_two_workers_deliver_200_queued_emails_each_once(start_worker):
    port = free_port()
    server = MailServer(port).start()
    try:
        env = {**QUIET, "EMAIL_URL": f"smtp://127.0.0.1:{port}"}
        workers = [start_worker(**env), start_worker(**env)]
        wait_until(
            lambda: _rows("SELECT count(*) FROM procrastinate_workers")[0][0] == 2,
            what="both workers up",
        )
        started = time.monotonic()
        with transaction.atomic():
            for n in range(200):
                email_queue(
                    EmailMultiAlternatives(f"Commande {n}", "Bonjour", to=[f"c{n}@exemple.fr"]),
                    key=f"test:200:{n}",
                )

        wait_until(
            lambda: OutgoingEmail.objects.filter(status=EmailStatus.SENT).count() == 200,
            seconds=120,
            what="200 emails sent\n" + workers[0].output(),
        )
        elapsed = time.monotonic() - started
        by_worker = _rows(
            "SELECT worker_id, count(*) FROM procrastinate_jobs"
            " WHERE task_name = 'email_send' GROUP BY 1"
        )
        time.sleep(1)

        subjects = [m["Subject"] for m in server.messages]
        assert len(subjects) == 200 and set(subjects) == {f"Commande {n}" for n in range(200)}
        assert len(by_worker) == 2  # both took their share
        print(f"\n200 emails, 2 workers: {elapsed:.1f} s; per worker {[n for _, n in by_worker]}")
    finally:
        server.stop()
