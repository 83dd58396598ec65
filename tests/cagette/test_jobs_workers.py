"""The job queue with real workers: a mail server down then up, one effect each time."""

import pytest
from django.core.mail import EmailMultiAlternatives
from django.db import transaction

from accounts.models import EmailStatus, OutgoingEmail
from accounts.outbox import email_queue
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
