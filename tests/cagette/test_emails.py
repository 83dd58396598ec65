"""Emails built from their three templates, in the recipient's language."""

import pytest
from django.db import transaction

from payments.bank_transfers import reminder_email_queue
from payments.models import PaymentReminder
from tests.jobs import run_jobs
from tests.payments import test_transfers as transfers_page

# A market with an IBAN and a client's transfer still expected.
market = transfers_page.market
camille = transfers_page.camille
carrots = transfers_page.carrots
distribution = transfers_page.distribution
transfer = transfers_page.transfer

NBSP = "\u00a0"


def send_reminder(transfer):
    """Queue a reminder's email and deliver it, as the page and its job do."""
    with transaction.atomic():
        reminder_email_queue(PaymentReminder.objects.create(payment=transfer), transfer)
    run_jobs()


@pytest.mark.django_db
def test_a_reminder_subject_keeps_its_no_break_space_before_the_colon(transfer, mailoutbox):
    send_reminder(transfer)
    (message,) = mailoutbox
    assert f"rappel{NBSP}: votre virement" in message.subject


@pytest.mark.django_db
def test_an_email_is_written_in_the_language_its_recipient_chose(transfer, mailoutbox):
    client = transfer.membership.user
    client.language = "en"
    client.save(update_fields=["language"])
    send_reminder(transfer)
    (message,) = mailoutbox
    assert message.to == [client.email]
    assert "reminder" in message.subject
