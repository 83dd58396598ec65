"""Emails built from their three templates, in the recipient's language."""

import pytest

from payments.bank_transfers import reminder_email_send
from payments.models import PaymentReminder
from tests.payments import test_transfers as transfers_page

# A market with an IBAN and a client's transfer still expected.
market = transfers_page.market
camille = transfers_page.camille
carrots = transfers_page.carrots
distribution = transfers_page.distribution
transfer = transfers_page.transfer

NBSP = "\u00a0"


@pytest.mark.django_db
def test_a_reminder_subject_keeps_its_no_break_space_before_the_colon(transfer, mailoutbox):
    reminder = PaymentReminder.objects.create(payment=transfer)
    assert reminder_email_send(reminder)
    (message,) = mailoutbox
    assert f"rappel{NBSP}: votre virement" in message.subject


@pytest.mark.django_db
def test_an_email_is_written_in_the_language_its_recipient_chose(transfer, mailoutbox):
    client = transfer.membership.user
    client.language = "en"
    client.save(update_fields=["language"])
    assert reminder_email_send(PaymentReminder.objects.create(payment=transfer))
    (message,) = mailoutbox
    assert message.to == [client.email]
    assert "reminder" in message.subject
