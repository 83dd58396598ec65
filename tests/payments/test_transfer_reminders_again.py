"""« Virements attendus »: the same reminder form sent again after its send failed.

A reminder is recorded as sent only once the mail server took it; one that
failed is marked so, and the same form sent again tries once more and says
what happened, never « déjà été envoyé » for a reminder that did not go out.
"""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from payments.models import PaymentReminder
from tests.payments import test_transfers as transfers_page
from tests.payments.test_transfers import TOKEN, messages_of, remind_url, selection

# That page's market (with an IBAN) and a client's transfer still expected.
market = transfers_page.market
camille = transfers_page.camille
carrots = transfers_page.carrots
distribution = transfers_page.distribution
transfer = transfers_page.transfer

pytestmark = pytest.mark.django_db(transaction=True)

FAILING = "tests.payments.test_transfers.FailingBackend"
WORKING = "django.core.mail.backends.locmem.EmailBackend"
ALREADY_SENT = "Ce formulaire avait déjà été envoyé : aucun rappel n'est parti en double."


def send_form(browser, market, transfer):
    return browser.post(remind_url(market), selection(transfer, token=TOKEN), follow=True)


def test_a_failed_send_is_recorded_as_failed_not_as_sent(
    login, treasurer, market, transfer, settings
):
    settings.EMAIL_BACKEND = FAILING

    send_form(login(treasurer), market, transfer)

    reminder = PaymentReminder.objects.get()
    assert reminder.sent_at is None
    assert reminder.failed_at is not None


def test_the_same_form_sent_again_after_a_failed_send_sends_the_reminder(
    login, treasurer, market, transfer, settings
):
    browser = login(treasurer)
    settings.EMAIL_BACKEND = FAILING
    send_form(browser, market, transfer)
    settings.EMAIL_BACKEND = WORKING
    mail.outbox = []

    response = send_form(browser, market, transfer)

    assert len(mail.outbox) == 1
    assert messages_of(response) == ["1 rappel envoyé."]
    reminder = PaymentReminder.objects.get()
    assert reminder.sent_at is not None
    assert reminder.failed_at is None


def test_the_same_form_failing_again_says_the_reminder_was_not_sent(
    login, treasurer, market, transfer, settings
):
    browser = login(treasurer)
    settings.EMAIL_BACKEND = FAILING
    send_form(browser, market, transfer)

    response = send_form(browser, market, transfer)

    assert ALREADY_SENT not in messages_of(response)
    assert "1 rappel n'a pas pu être envoyé : réessayez plus tard." in messages_of(response)
    assert PaymentReminder.objects.get().sent_at is None


def test_the_same_form_sent_again_after_a_successful_send_sends_nothing_more(
    login, treasurer, market, transfer, settings
):
    settings.EMAIL_BACKEND = WORKING
    mail.outbox = []
    browser = login(treasurer)
    send_form(browser, market, transfer)

    response = send_form(browser, market, transfer)

    assert len(mail.outbox) == 1
    assert messages_of(response) == [ALREADY_SENT]


def test_the_same_form_sent_while_its_reminder_is_being_sent_says_so(
    login, treasurer, market, transfer, settings
):
    settings.EMAIL_BACKEND = WORKING
    mail.outbox = []
    PaymentReminder.objects.create(payment=transfer, token=TOKEN, sent_by=treasurer.user)

    response = send_form(login(treasurer), market, transfer)

    assert mail.outbox == []
    (message,) = messages_of(response)
    assert "1 rappel de ce formulaire est encore en cours d'envoi" in message


def test_a_send_cut_short_long_ago_is_tried_again_by_the_same_form(
    login, treasurer, market, transfer, settings
):
    settings.EMAIL_BACKEND = WORKING
    mail.outbox = []
    PaymentReminder.objects.create(
        payment=transfer,
        token=TOKEN,
        sent_by=treasurer.user,
        requested_at=timezone.now() - datetime.timedelta(hours=1),
    )

    response = send_form(login(treasurer), market, transfer)

    assert len(mail.outbox) == 1
    assert messages_of(response) == ["1 rappel envoyé."]
