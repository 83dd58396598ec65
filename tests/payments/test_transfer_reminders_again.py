"""« Virements attendus »: the same reminder form sent again after its email failed.

A reminder counts once the mail server took its email; one the server refused
(or gave up on after a day) is marked not sent, and the same form sent again
queues it once more and says so, never « déjà été envoyé » for a reminder
that did not go out.
"""

import smtplib

import pytest
from django.core.mail.backends.base import BaseEmailBackend

from accounts.models import EmailStatus
from payments.models import PaymentReminder
from tests.jobs import queued, run_jobs
from tests.payments import test_transfers as transfers_page
from tests.payments.test_transfers import TOKEN, messages_of, remind_url, selection

# That page's market (with an IBAN) and a client's transfer still expected.
market = transfers_page.market
camille = transfers_page.camille
carrots = transfers_page.carrots
distribution = transfers_page.distribution
transfer = transfers_page.transfer

pytestmark = pytest.mark.django_db

REFUSING = f"{__name__}.RefusingBackend"
WORKING = "django.core.mail.backends.locmem.EmailBackend"
ALREADY_SENT = "Ce formulaire avait déjà été envoyé\u00a0: aucun rappel n'est parti en double."
QUEUED = "1 rappel en cours d'envoi."


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses the address for good."""

    def send_messages(self, messages):
        recipients = {to: (550, b"5.1.1 No such user") for m in messages for to in m.to}
        raise smtplib.SMTPRecipientsRefused(recipients)


def send_form(browser, market, transfer):
    return browser.post(remind_url(market), selection(transfer, token=TOKEN), follow=True)


def email_of_the_reminder():
    return PaymentReminder.objects.select_related("email").get().email


def test_a_refused_address_is_recorded_as_not_sent(login, treasurer, market, transfer, settings):
    settings.EMAIL_BACKEND = REFUSING

    send_form(login(treasurer), market, transfer)
    (ran,) = run_jobs()

    assert ran.outcome == "succeeded"  # stopped for good: nothing to try again
    email = email_of_the_reminder()
    assert (email.status, email.attempts, email.sent_at) == (EmailStatus.FAILED, 1, None)
    assert "No such user" in email.last_error


def test_the_same_form_sent_again_after_a_refused_send_sends_the_reminder(
    login, treasurer, market, transfer, settings, mailoutbox
):
    browser = login(treasurer)
    settings.EMAIL_BACKEND = REFUSING
    send_form(browser, market, transfer)
    run_jobs()
    settings.EMAIL_BACKEND = WORKING

    response = send_form(browser, market, transfer)
    run_jobs()

    assert len(mailoutbox) == 1
    assert messages_of(response) == [QUEUED]
    assert PaymentReminder.objects.count() == 1
    assert email_of_the_reminder().status == EmailStatus.SENT


def test_the_same_form_refused_again_is_queued_again_never_called_sent(
    login, treasurer, market, transfer, settings
):
    browser = login(treasurer)
    settings.EMAIL_BACKEND = REFUSING
    send_form(browser, market, transfer)
    run_jobs()

    response = send_form(browser, market, transfer)
    run_jobs()

    assert ALREADY_SENT not in messages_of(response)
    assert messages_of(response) == [QUEUED]
    assert email_of_the_reminder().status == EmailStatus.FAILED


def test_the_same_form_sent_again_after_a_successful_send_sends_nothing_more(
    login, treasurer, market, transfer, settings, mailoutbox
):
    settings.EMAIL_BACKEND = WORKING
    browser = login(treasurer)
    send_form(browser, market, transfer)
    run_jobs()

    response = send_form(browser, market, transfer)

    assert queued("email_send") == []
    assert len(mailoutbox) == 1
    assert messages_of(response) == [ALREADY_SENT]


def test_the_same_form_sent_while_its_reminder_is_being_sent_says_so(
    login, treasurer, market, transfer, mailoutbox
):
    browser = login(treasurer)
    send_form(browser, market, transfer)

    response = send_form(browser, market, transfer)

    assert len(queued("email_send")) == 1
    (message,) = messages_of(response)
    assert "1 rappel de ce formulaire est encore en cours d'envoi" in message


def test_a_reminder_asked_for_before_emails_were_kept_is_sent_by_the_same_form(
    login, treasurer, market, transfer, mailoutbox
):
    PaymentReminder.objects.create(payment=transfer, token=TOKEN, sent_by=treasurer.user)

    response = send_form(login(treasurer), market, transfer)
    run_jobs()

    assert len(mailoutbox) == 1
    assert messages_of(response) == [QUEUED]
    assert email_of_the_reminder().status == EmailStatus.SENT
