"""The job queue in the Django admin: state, task, arguments, tries, due time, last error."""

import pytest
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.urls import reverse

from accounts.models import OutgoingEmail
from accounts.outbox import email_queue
from cagette.jobqueue.models import JobError
from tests.factories import UserFactory
from tests.smtp import free_port
from tests.workers import wait_until

JOBS = "admin:procrastinate_procrastinatejob_changelist"


def _email_queued(key: str) -> OutgoingEmail:
    message = EmailMultiAlternatives("Votre commande", "Bonjour", to=["client@exemple.fr"])
    with transaction.atomic():
        return email_queue(message, key=key)


def _superuser(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_a_superuser_sees_a_queued_job_with_its_state_task_arguments_and_tries(client):
    email = _email_queued("admin:queued")

    response = _superuser(client).get(reverse(JOBS))

    assert response.status_code == 200
    [job] = response.context["cl"].result_list
    assert (job.task_name, job.args, job.status, job.attempts) == (
        "email_send",
        {"email_id": email.pk},
        "todo",
        0,
    )
    page = response.content.decode()
    for column in ("Tâche", "Arguments", "État", "Tentatives", "Prévue pour", "Dernière erreur"):
        assert f">{column}<" in page
    assert "email_send" in page and "Todo" in page


@pytest.mark.django_db
def test_a_client_cannot_open_the_jobs(client, member):
    client.force_login(member.user)

    response = client.get(reverse(JOBS))

    assert response.status_code == 302  # to the admin's login


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_error_of_a_job_that_failed_is_kept_and_shown_in_the_admin(client, start_worker):
    # A mail server that is down: the job fails, to be tried again an hour later.
    email = _email_queued("admin:failed")
    start_worker(EMAIL_URL=f"smtp://127.0.0.1:{free_port()}", JOB_RETRY_FIRST="3600")

    wait_until(lambda: JobError.objects.exists(), what="the job's error kept by the worker")
    error = JobError.objects.get()
    assert error.task_name == "email_send"
    assert "Temporary" in error.error and "Connection refused" in error.error

    response = _superuser(client).get(reverse(JOBS))
    page = response.content.decode()
    assert "Connection refused" in page
    assert OutgoingEmail.objects.get(pk=email.pk).attempts == 1
