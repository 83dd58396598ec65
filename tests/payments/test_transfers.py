"""« Virements attendus »: checking the transfers before the distribution, and chasing them."""

import datetime
import html
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailStatus, OutgoingEmail, Role
from distributions.models import Distribution
from orders.models import Unit
from orders.services import basket_read, order_checkout
from payments.bank_transfers import pending_transfers, transfer_reminders_send
from payments.ledger import account_balance, client_account, market_account
from payments.models import (
    AccountKind,
    Payment,
    PaymentReminder,
    PaymentStatus,
    Transaction,
)
from payments.services import payment_cancel, payment_receive
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.jobs import queued, run_jobs
from tests.payments.test_concurrency import run_together

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"
IBAN_GROUPED = "FR76 3000 6000 0112 3456 7890 189"
TOKEN = "b" * 32


class FailingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server unreachable")


@pytest.fixture
def market(market):
    market.payment_methods = ["transfer", "cheque"]
    market.iban = "fr76 3000 6000 0112 3456 7890 189"
    market.bic = "AGRIFRPP882"
    market.account_holder = "Association Marché de Montreuil"
    market.save()
    return market


@pytest.fixture
def carrots(market):
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    return ProductFactory(producer=farm, name="Carottes", unit=Unit.KG, unit_price=Decimal("2.50"))


@pytest.fixture
def distribution(market):
    return DistributionFactory(market=market, place="La Halle")


def client_named(market, first_name, last_name, email):
    user = UserFactory(first_name=first_name, last_name=last_name, email=email)
    return MembershipFactory(market=market, user=user, role=Role.CLIENT)


@pytest.fixture
def camille(market):
    return client_named(market, "Camille", "Martin", "camille@exemple.fr")


@pytest.fixture
def dominique(market):
    return client_named(market, "Dominique", "Bernard", "dominique@exemple.fr")


def place_order(membership, distribution, product, kilos: str, choice="transfer"):
    """The client checks out; the pending payment of the order is returned."""
    lines = basket_read(membership.market, {str(product.pk): kilos})
    order = order_checkout(
        membership=membership,
        distribution=distribution,
        lines=lines,
        choice=choice,
        token=uuid.uuid4().hex,
        notify=False,
    )
    return order.payments.get()


def ordered_days_ago(payment, days: int) -> Payment:
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=days)
    )
    payment.refresh_from_db()
    return payment


def move_to_the_past(distribution, days=3):
    Distribution.objects.filter(pk=distribution.pk).update(
        date=timezone.localdate() - datetime.timedelta(days=days)
    )


@pytest.fixture
def transfer(camille, distribution, carrots):
    """Camille owes 12,50 € by transfer for the coming distribution."""
    return place_order(camille, distribution, carrots, "5")


def page_url(market, **query):
    url = reverse("pending_transfers", args=[market.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def received_url(market):
    return reverse("transfers_received", args=[market.slug])


def remind_url(market):
    return reverse("transfers_remind", args=[market.slug])


def selection(*payments, token=TOKEN, **extra):
    return {"payments": [str(p.pk) for p in payments], "form_token": token, **extra}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def reminder_recorded(payment, by, *, status=EmailStatus.SENT, at=None, **fields):
    """A reminder asked for at ``at`` whose email is in ``status`` (sent then, if sent)."""
    at = at or timezone.now()
    reminder = PaymentReminder.objects.create(
        payment=payment, sent_by=by, requested_at=at, **fields
    )
    reminder.email = OutgoingEmail.objects.create(
        key=f"transfer_reminder:{reminder.pk}",
        about=f"payment:{payment.pk}",
        market=payment.market,
        to=payment.membership.user.email,
        subject="Rappel",
        body="Bonjour",
        status=status,
        sent_at=at if status == EmailStatus.SENT else None,
    )
    reminder.save(update_fields=["email"])
    return reminder


def check_ledger() -> str:
    out = StringIO()
    call_command("check_ledger", stdout=out)
    return out.getvalue()


# -- The list -----------------------------------------------------------------------


def test_only_transfers_still_expected_from_this_market_are_listed(
    market, other_market, camille, dominique, distribution, carrots, transfer, treasurer
):
    by_cheque = place_order(dominique, distribution, carrots, "2", choice="cheque")
    second = DistributionFactory(market=market)
    received = place_order(dominique, second, carrots, "1")
    payment_receive(payment=received, received_by=treasurer.user)
    third = DistributionFactory(market=market)
    cancelled = place_order(dominique, third, carrots, "1")
    payment_cancel(payment=cancelled, cancelled_by=treasurer.user)
    other_market.payment_methods = ["transfer"]
    other_market.save()
    elsewhere = place_order(
        MembershipFactory(market=other_market),
        DistributionFactory(market=other_market),
        ProductFactory(producer=ProducerFactory(market=other_market)),
        "1",
    )

    listed = list(pending_transfers(market))

    assert listed == [transfer]
    assert {by_cheque, received, cancelled, elsewhere}.isdisjoint(listed)


def test_each_row_says_how_many_days_since_the_client_ordered(transfer, market):
    ordered_days_ago(transfer, 4)

    (row,) = pending_transfers(market)

    assert row.waiting.days == 4


def test_each_row_counts_the_reminders_sent_and_the_last_one(transfer, market, treasurer):
    now = timezone.now()
    for days in (6, 2):
        reminder_recorded(transfer, treasurer.user, at=now - datetime.timedelta(days=days))

    (row,) = pending_transfers(market)

    assert row.reminder_count == 2
    assert row.last_reminded_at == now - datetime.timedelta(days=2)
    assert row.last_reminder_failed is False


def test_a_reminder_that_was_not_sent_does_not_count(transfer, market, treasurer):
    reminder_recorded(transfer, treasurer.user, status=EmailStatus.FAILED)

    (row,) = pending_transfers(market)

    assert row.reminder_count == 0
    assert row.last_reminded_at is None
    assert row.last_reminder_failed is True


def test_transfers_of_past_distributions_are_listed_as_late(
    market, camille, dominique, distribution, carrots, transfer
):
    past = DistributionFactory(market=market)
    overdue = place_order(dominique, past, carrots, "2")
    move_to_the_past(past)

    assert list(pending_transfers(market)) == [transfer]
    assert list(pending_transfers(market, late=True)) == [overdue]


def test_the_page_lists_each_transfer_with_its_totals(
    login, treasurer, market, camille, dominique, distribution, carrots, transfer
):
    place_order(dominique, distribution, carrots, "2")
    ordered_days_ago(transfer, 3)

    response = login(treasurer).get(page_url(market))

    assert response.status_code == 200
    text = html.unescape(response.content.decode())
    assert "Virements attendus" in text
    assert "Camille Martin" in text and "Dominique Bernard" in text
    assert transfer.reference in text
    assert f"12,50{NBSP}€" in text
    assert "il y a 3 jours" in text
    assert "2 virements attendus" in text
    assert f"17,50{NBSP}€" in text
    assert "Aucun virement en retard." in text


def test_the_late_section_shows_past_distributions(
    login, treasurer, market, dominique, carrots, transfer
):
    past = DistributionFactory(market=market)
    overdue = place_order(dominique, past, carrots, "2")
    move_to_the_past(past)

    response = login(treasurer).get(page_url(market))

    late = response.context["sections"][1]
    assert late["title"] == "En retard"
    assert late["rows"] == [overdue]
    assert late["totals"].amount == Decimal("5.00")


def test_the_page_can_show_one_distribution(
    login, treasurer, market, dominique, distribution, carrots, transfer
):
    later = DistributionFactory(market=market)
    place_order(dominique, later, carrots, "2")

    response = login(treasurer).get(page_url(market, distribution=distribution.pk))

    assert response.context["sections"][0]["rows"] == [transfer]


def test_a_distribution_filter_leaves_out_the_late_transfers_of_other_distributions(
    login, treasurer, market, dominique, distribution, carrots, transfer
):
    past = DistributionFactory(market=market)
    overdue = place_order(dominique, past, carrots, "2")
    move_to_the_past(past)

    response = login(treasurer).get(page_url(market, distribution=distribution.pk))

    upcoming, late = response.context["sections"]
    assert upcoming["rows"] == [transfer]
    assert late["rows"] == []
    text = response.content.decode()
    assert overdue.reference not in text
    assert "Aucun virement en retard pour cette distribution." in text


def test_a_past_distribution_with_a_late_transfer_can_be_shown(
    login, treasurer, market, dominique, carrots, transfer
):
    past = DistributionFactory(market=market)
    overdue = place_order(dominique, past, carrots, "2")
    move_to_the_past(past)

    response = login(treasurer).get(page_url(market, distribution=past.pk))

    assert response.status_code == 200
    upcoming, late = response.context["sections"]
    assert upcoming["rows"] == []
    assert late["rows"] == [overdue]
    assert transfer.reference not in response.content.decode()


def test_the_filter_offers_past_distributions_only_while_a_transfer_is_expected(
    login, treasurer, market, dominique, carrots, distribution, transfer
):
    late = DistributionFactory(market=market)
    place_order(dominique, late, carrots, "2")
    settled = DistributionFactory(market=market)
    payment_cancel(
        payment=place_order(dominique, settled, carrots, "1"), cancelled_by=treasurer.user
    )
    move_to_the_past(late, days=3)
    move_to_the_past(settled, days=10)

    response = login(treasurer).get(page_url(market))

    offered = list(response.context["filter_form"].fields["distribution"].queryset)
    assert offered == [late, distribution]
    assert login(treasurer).get(page_url(market, distribution=settled.pk)).status_code == 404


def test_a_distribution_of_another_market_is_not_found(
    login, treasurer, market, other_market, transfer
):
    elsewhere = DistributionFactory(market=other_market)

    response = login(treasurer).get(page_url(market, distribution=elsewhere.pk))

    assert response.status_code == 404


def test_the_page_shows_the_reminders_of_each_transfer(login, treasurer, market, transfer):
    sent_at = timezone.now() - datetime.timedelta(hours=1)
    reminder_recorded(transfer, treasurer.user, at=sent_at)
    reminder_recorded(transfer, treasurer.user, status=EmailStatus.FAILED)

    text = login(treasurer).get(page_url(market)).content.decode()

    assert f"1 rappel, le {timezone.localtime(sent_at):%d/%m/%Y}" in text
    assert "dernier rappel non envoyé" in text


def _queries_for_page(browser, market) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(page_url(market)).status_code == 200
    return len(queries)


def test_the_page_makes_as_many_queries_for_many_transfers_as_for_one(
    login, treasurer, market, distribution, carrots, transfer
):
    browser = login(treasurer)
    browser.get(page_url(market))  # the first visit also remembers the market in the session
    one = _queries_for_page(browser, market)
    for _n in range(5):
        client = MembershipFactory(market=market)
        payment = place_order(client, distribution, carrots, "1")
        reminder_recorded(payment, treasurer.user)
        past = DistributionFactory(market=market)
        place_order(client, past, carrots, "1")
        move_to_the_past(past)

    assert _queries_for_page(browser, market) == one


# -- Marking transfers as received -------------------------------------------------------


def test_marking_received_credits_the_client_and_debits_the_bank(
    login, treasurer, market, camille, transfer
):
    held_before = client_account(camille).held

    response = login(treasurer).post(received_url(market), selection(transfer), follow=True)

    transfer.refresh_from_db()
    assert transfer.status == PaymentStatus.RECEIVED
    assert transfer.received_by == treasurer.user
    assert transfer.received_at is not None
    assert client_account(camille).held == held_before + Decimal("12.50")
    assert account_balance(market_account(market, AccountKind.BANK)) == Decimal("12.50")
    assert "1 virement marqué comme reçu (12,50\u00a0€)." in messages_of(response)
    assert response.context["sections"][0]["rows"] == []
    assert "Ledger drift" not in check_ledger()


def test_marking_several_received_at_once(
    login, treasurer, market, dominique, distribution, carrots, transfer
):
    other = place_order(dominique, distribution, carrots, "2")

    login(treasurer).post(received_url(market), selection(transfer, other))

    assert set(Payment.objects.values_list("status", flat=True)) == {PaymentStatus.RECEIVED}
    assert account_balance(market_account(market, AccountKind.BANK)) == Decimal("17.50")


def test_marking_received_twice_posts_once(login, treasurer, market, camille, transfer):
    browser = login(treasurer)
    browser.post(received_url(market), selection(transfer))
    held = client_account(camille).held

    response = browser.post(received_url(market), selection(transfer), follow=True)

    assert client_account(camille).held == held
    assert account_balance(market_account(market, AccountKind.BANK)) == Decimal("12.50")
    assert Transaction.objects.filter(payment=transfer).count() == 1
    assert "1 virement sélectionné n'est plus attendu : il a été ignoré." in messages_of(response)
    assert "Ledger drift" not in check_ledger()


def test_a_payment_of_another_market_is_ignored(login, treasurer, market, other_market, transfer):
    other_market.payment_methods = ["transfer"]
    other_market.save()
    elsewhere = place_order(
        MembershipFactory(market=other_market),
        DistributionFactory(market=other_market),
        ProductFactory(producer=ProducerFactory(market=other_market)),
        "1",
    )
    transactions = Transaction.objects.count()

    browser = login(treasurer)
    response = browser.post(received_url(market), selection(elsewhere), follow=True)
    browser.post(remind_url(market), selection(elsewhere))

    elsewhere.refresh_from_db()
    assert elsewhere.status == PaymentStatus.PENDING
    assert Transaction.objects.count() == transactions
    assert not PaymentReminder.objects.exists()
    assert response.status_code == 200
    assert "ignoré" in " ".join(messages_of(response))


def test_an_empty_selection_is_explained_in_french(login, treasurer, market, transfer):
    response = login(treasurer).post(
        received_url(market), {"form_token": TOKEN, "distribution": ""}, follow=True
    )

    assert messages_of(response) == ["Cochez au moins un virement."]
    transfer.refresh_from_db()
    assert transfer.status == PaymentStatus.PENDING


def test_a_selection_that_is_not_ids_is_refused(login, treasurer, market, transfer):
    response = login(treasurer).post(
        received_url(market), {"payments": ["abc", "99999999999999999999"], "form_token": TOKEN}
    )

    assert response.status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == PaymentStatus.PENDING


def test_after_an_action_the_page_shows_the_same_distribution(
    login, treasurer, market, distribution, transfer
):
    response = login(treasurer).post(
        received_url(market), selection(transfer, distribution=distribution.pk)
    )

    assert response.url == page_url(market, distribution=distribution.pk)


# -- Reminders -------------------------------------------------------------------------


def test_a_reminder_gives_the_iban_amount_and_reference_in_french(
    login, treasurer, market, transfer, mailoutbox
):
    login(treasurer).post(remind_url(market), selection(transfer))
    run_jobs()

    (message,) = mailoutbox
    assert message.to == ["camille@exemple.fr"]
    assert "rappel" in message.subject and transfer.reference in message.subject
    (html_body, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    for body in (message.body, html_body):
        assert "Bonjour Camille," in body
        assert "nous n'avons pas encore reçu votre virement" in body
        assert IBAN_GROUPED in body
        assert "AGRIFRPP882" in body
        assert "Association Marché de Montreuil" in body
        assert f"12,50{NBSP}€" in body
        assert transfer.reference in body


def test_a_reminder_is_recorded_with_who_sent_it_and_when(
    login, treasurer, market, transfer, mailoutbox
):
    login(treasurer).post(remind_url(market), selection(transfer))
    run_jobs()

    reminder = PaymentReminder.objects.select_related("email").get()
    assert reminder.payment == transfer
    assert reminder.sent_by == treasurer.user
    assert reminder.email.status == EmailStatus.SENT
    assert reminder.email.sent_at is not None
    (row,) = pending_transfers(market)
    assert row.reminder_count == 1
    assert row.last_reminded_at == reminder.email.sent_at


def test_a_reminder_counts_only_once_the_mail_server_took_it(
    login, treasurer, market, transfer, mailoutbox
):
    response = login(treasurer).post(remind_url(market), selection(transfer), follow=True)

    assert messages_of(response) == ["1 rappel en cours d'envoi."]
    assert mailoutbox == []
    (row,) = pending_transfers(market)
    assert (row.reminder_count, row.last_reminder_pending) == (0, True)
    assert "dernier rappel en attente d'envoi" in response.content.decode()

    run_jobs()

    (row,) = pending_transfers(market)
    assert (row.reminder_count, row.last_reminder_pending) == (1, False)


def test_each_selected_client_gets_their_own_reminder(
    login, treasurer, market, dominique, distribution, carrots, transfer, mailoutbox
):
    other = place_order(dominique, distribution, carrots, "2")

    response = login(treasurer).post(remind_url(market), selection(transfer, other), follow=True)
    run_jobs()

    assert messages_of(response) == ["2 rappels en cours d'envoi."]
    assert sorted(m.to[0] for m in mailoutbox) == ["camille@exemple.fr", "dominique@exemple.fr"]
    assert f"5,00{NBSP}€" in next(m for m in mailoutbox if m.to == ["dominique@exemple.fr"]).body


def test_the_same_form_sent_twice_reminds_once(login, treasurer, market, transfer, mailoutbox):
    browser = login(treasurer)
    browser.post(remind_url(market), selection(transfer))
    run_jobs()
    response = browser.post(remind_url(market), selection(transfer), follow=True)
    run_jobs()

    assert len(mailoutbox) == 1
    assert PaymentReminder.objects.count() == 1
    assert (
        "Ce formulaire avait déjà été envoyé\u00a0: aucun rappel n'est parti en double."
        in messages_of(response)
    )


def test_the_same_form_double_submitted_queues_one_email(
    login, treasurer, market, transfer, mailoutbox
):
    browser = login(treasurer)
    browser.post(remind_url(market), selection(transfer))
    response = browser.post(remind_url(market), selection(transfer), follow=True)

    assert len(queued("email_send")) == 1
    assert any(
        "1 rappel de ce formulaire est encore en cours d'envoi" in message
        for message in messages_of(response)
    )
    run_jobs()
    assert len(mailoutbox) == 1


def test_a_new_reminder_from_a_fresh_page_is_sent_again(
    login, treasurer, market, transfer, mailoutbox
):
    browser = login(treasurer)
    for token in ("c" * 32, "d" * 32):
        browser.post(remind_url(market), selection(transfer, token=token))
        run_jobs()

    assert len(mailoutbox) == 2
    (row,) = pending_transfers(market)
    assert row.reminder_count == 2


def test_no_reminder_for_a_transfer_already_received(
    login, treasurer, market, transfer, mailoutbox
):
    payment_receive(payment=transfer, received_by=treasurer.user)

    login(treasurer).post(remind_url(market), selection(transfer))

    assert queued("email_send") == []
    assert not PaymentReminder.objects.exists()


def test_no_reminder_without_the_markets_iban(login, treasurer, market, transfer, mailoutbox):
    market.iban = ""
    market.save()

    response = login(treasurer).post(remind_url(market), selection(transfer), follow=True)

    assert queued("email_send") == []
    assert not PaymentReminder.objects.exists()
    assert "IBAN" in messages_of(response)[0]


def test_a_mail_server_that_is_down_leaves_the_reminder_waiting_and_uncounted(
    login, treasurer, market, transfer, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    browser = login(treasurer)

    response = browser.post(remind_url(market), selection(transfer))
    (ran,) = run_jobs()

    assert response.status_code == 302
    assert ran.outcome == "retry"
    email = PaymentReminder.objects.select_related("email").get().email
    assert (email.status, email.attempts) == (EmailStatus.PENDING, 1)
    assert "mail server unreachable" in email.last_error
    page = browser.get(page_url(market))
    assert page.status_code == 200
    (row,) = page.context["sections"][0]["rows"]
    assert row.reminder_count == 0
    assert "dernier rappel en attente d'envoi" in page.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == PaymentStatus.PENDING


def test_the_request_answers_without_speaking_to_the_mail_server(
    login, treasurer, market, transfer, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"

    response = login(treasurer).post(remind_url(market), selection(transfer), follow=True)

    assert messages_of(response) == ["1 rappel en cours d'envoi."]
    assert OutgoingEmail.objects.get().attempts == 0


# -- Who may use it -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "treasurer"])
def test_admins_and_treasurers_see_the_page(request, login, market, role):
    assert login(request.getfixturevalue(role)).get(page_url(market)).status_code == 200


def test_a_client_may_not_see_or_act(login, member, market, transfer):
    browser = login(member)

    assert browser.get(page_url(market)).status_code == 403
    assert browser.post(received_url(market), selection(transfer)).status_code == 403
    assert browser.post(remind_url(market), selection(transfer)).status_code == 403
    transfer.refresh_from_db()
    assert transfer.status == PaymentStatus.PENDING


def test_another_markets_admin_finds_nothing(login, other_admin, market, transfer):
    browser = login(other_admin)

    assert browser.get(page_url(market)).status_code == 404
    assert browser.post(received_url(market), selection(transfer)).status_code == 404
    assert browser.post(remind_url(market), selection(transfer)).status_code == 404


def test_the_actions_only_accept_post(login, treasurer, market):
    browser = login(treasurer)

    for url in (received_url(market), remind_url(market)):
        response = browser.get(url)
        assert response.status_code == 302
        assert response.url == reverse("pending_transfers", args=[market.slug])
    assert browser.put(received_url(market)).status_code == 405


def test_signing_in_is_required(client, market):
    response = client.get(page_url(market))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_form_racing_itself_reminds_once(market, treasurer, transfer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []

    def submit(_i):
        return transfer_reminders_send(
            market=market, payment_ids=[transfer.pk], sent_by=treasurer.user, token=TOKEN
        )

    results, errors = run_together(submit, threads=4)
    run_jobs()

    assert errors == []
    assert sum(len(outcome.queued) for outcome in results) == 1
    assert len(mail.outbox) == 1
    assert PaymentReminder.objects.get().email.status == EmailStatus.SENT
