"""Emails that could not be sent: shown to the admin where they belong, and « Renvoyer »."""

import html
import uuid

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailStatus, OutgoingEmail
from accounts.outbox import emails_about
from orders.services import basket_read, order_checkout
from payments.bank_transfers import transfer_reminders_send
from payments.models import PaymentReminder
from tests.factories import MembershipFactory, UserFactory
from tests.jobs import make_due, queued, run_jobs
from tests.payments import test_transfers as transfers_page
from tests.payments.test_transfer_reminders_again import REFUSING
from tests.payments.test_transfers import (
    FailingBackend,
    messages_of,
    page_url,
    place_order,
    remind_url,
    selection,
)

# A market with an IBAN, a client, a distribution and a product to order.
market = transfers_page.market
camille = transfers_page.camille
carrots = transfers_page.carrots
distribution = transfers_page.distribution

pytestmark = pytest.mark.django_db

FAILING = f"{FailingBackend.__module__}.FailingBackend"
REFUSED = "Adresse refusée par le serveur de messagerie"


def checkout(membership, distribution, product):
    """The client orders 2 kg to pay by cheque; the recap is queued with the order."""
    return order_checkout(
        membership=membership,
        distribution=distribution,
        lines=basket_read(membership.market, {str(product.pk): "2"}),
        choice="cheque",
        token=uuid.uuid4().hex,
    )


@pytest.fixture
def order(camille, distribution, carrots, settings):
    """Camille's order, whose recap the mail server refused (no such address)."""
    settings.EMAIL_BACKEND = REFUSING
    order = checkout(camille, distribution, carrots)
    from_checkout = OutgoingEmail.objects.get(about=f"order:{order.pk}")
    run_jobs()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    order.recap = OutgoingEmail.objects.get(pk=from_checkout.pk)
    return order


def basket_url(order):
    return reverse("day_basket", args=[order.market.slug, order.distribution_id, order.pk])


def resend_url(market, email):
    return reverse("email_resend", args=[market.slug, email.pk])


def test_a_refused_recap_is_shown_on_the_basket_page_with_why_and_a_resend_button(
    login, treasurer, order
):
    page = html.unescape(login(treasurer).get(basket_url(order)).content.decode())

    assert order.recap.status == EmailStatus.FAILED
    assert "Un email n'a pas pu être envoyé" in page
    asked = timezone.localtime(order.recap.created_at)  # the market's day, not UTC's
    assert f"À camille@exemple.fr, demandé le {asked:%d/%m/%Y}" in page
    assert order.recap.subject in page
    assert REFUSED in page
    assert "<summary>Détail technique</summary>" in page
    assert "No such user" in page  # the server's own words, folded away
    assert f'action="{resend_url(order.market, order.recap)}"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "email non envoyé" in page


def test_the_order_page_shows_it_too(login, admin, order):
    page = html.unescape(
        login(admin).get(reverse("order_edit", args=[order.market.slug, order.pk])).content.decode()
    )

    assert REFUSED in page


def test_resend_delivers_the_email_once(login, treasurer, order, mailoutbox):
    next_url = basket_url(order)

    response = login(treasurer).post(
        resend_url(order.market, order.recap), {"next": next_url}, follow=True
    )
    run_jobs()

    assert response.redirect_chain == [(next_url, 302)]
    assert messages_of(response) == [
        "L'email à camille@exemple.fr est de nouveau en cours d'envoi."
    ]
    (message,) = mailoutbox
    assert message.subject == order.recap.subject
    order.recap.refresh_from_db()
    assert order.recap.status == EmailStatus.SENT
    page = login(treasurer).get(basket_url(order)).content.decode()
    assert "n'a pas pu être envoyé" not in html.unescape(page)
    assert "email envoyé" in page


def test_resend_submitted_twice_queues_one_job(login, treasurer, order, mailoutbox):
    browser = login(treasurer)
    browser.post(resend_url(order.market, order.recap), {"next": basket_url(order)})

    response = browser.post(
        resend_url(order.market, order.recap), {"next": basket_url(order)}, follow=True
    )

    assert len(queued("email_send")) == 1
    assert "Cet email est déjà en cours d'envoi ou envoyé." in messages_of(response)
    run_jobs()
    assert len(mailoutbox) == 1


def test_resend_goes_back_to_our_pages_only(login, treasurer, order):
    response = login(treasurer).post(
        resend_url(order.market, order.recap), {"next": "https://ailleurs.example/piege"}
    )

    assert response.url == reverse("market_home", args=[order.market.slug])


def test_another_markets_email_is_not_found(login, other_admin, order):
    other_market = other_admin.market
    outsider = login(other_admin)

    response = outsider.post(resend_url(other_market, order.recap), {"next": "/"})

    assert response.status_code == 404
    order.recap.refresh_from_db()
    assert order.recap.status == EmailStatus.FAILED
    assert queued("email_send") == []


def test_a_client_may_not_resend(login, camille, order):
    response = login(camille).post(resend_url(order.market, order.recap), {"next": "/"})

    assert response.status_code == 403
    assert queued("email_send") == []


def test_resend_only_accepts_post(login, treasurer, order):
    assert login(treasurer).get(resend_url(order.market, order.recap)).status_code == 405


def test_a_recap_waiting_for_the_mail_server_says_so_on_the_basket_page(
    login, treasurer, camille, distribution, carrots, settings
):
    settings.EMAIL_BACKEND = FAILING
    order = checkout(camille, distribution, carrots)
    run_jobs()

    page = html.unescape(login(treasurer).get(basket_url(order)).content.decode())

    assert "email en attente d'envoi" in page
    assert "n'a pas pu être envoyé" not in page


def test_a_mail_server_away_for_a_day_is_said_so(
    login, treasurer, camille, distribution, carrots, settings
):
    settings.EMAIL_BACKEND = FAILING
    settings.JOB_RETRY_FOR_HOURS = 1  # a day of tries, shortened
    order = checkout(camille, distribution, carrots)
    for _try in range(20):
        run_jobs()
        make_due()

    email = OutgoingEmail.objects.get(about=f"order:{order.pk}")
    assert email.status == EmailStatus.FAILED
    page = html.unescape(login(treasurer).get(basket_url(order)).content.decode())
    assert "Serveur de messagerie injoignable depuis 1 h" in page
    assert "mail server unreachable" in page


# -- Reminders --------------------------------------------------------------------------


def test_a_refused_reminder_is_shown_on_the_transfers_page_and_resent_once(
    login, treasurer, market, camille, distribution, carrots, settings, mailoutbox
):
    transfer = place_order(camille, distribution, carrots, "2")
    browser = login(treasurer)
    settings.EMAIL_BACKEND = REFUSING
    browser.post(remind_url(market), selection(transfer))
    run_jobs()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    page = browser.get(page_url(market))
    text = html.unescape(page.content.decode())
    email = PaymentReminder.objects.get().email
    assert REFUSED in text
    assert "dernier rappel non envoyé" in text
    assert f'action="{resend_url(market, email)}"' in text

    browser.post(resend_url(market, email), {"next": page_url(market)})
    browser.post(resend_url(market, email), {"next": page_url(market)})
    run_jobs()

    assert len(mailoutbox) == 1
    (row,) = browser.get(page_url(market)).context["sections"][0]["rows"]
    assert row.reminder_count == 1
    assert row.last_reminder_failed is False


def test_reminders_rolled_back_leave_no_email_and_no_job(
    market, treasurer, camille, distribution, carrots
):
    transfer = place_order(camille, distribution, carrots, "2")

    with pytest.raises(RuntimeError), transaction.atomic():
        transfer_reminders_send(
            market=market, payment_ids=[transfer.pk], sent_by=treasurer.user, token="e" * 32
        )
        raise RuntimeError("something after, in the same transaction, failed")

    assert not PaymentReminder.objects.exists()
    assert not OutgoingEmail.objects.filter(about=f"payment:{transfer.pk}").exists()
    assert queued("email_send") == []


# -- The Django admin -------------------------------------------------------------------


def test_the_django_admin_lists_the_emails_read_only(client, order):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    listing = client.get(reverse("admin:accounts_outgoingemail_changelist") + "?status=failed")

    assert listing.status_code == 200
    text = html.unescape(listing.content.decode())
    assert order.recap.subject in text and "No such user" in text
    assert client.get(reverse("admin:accounts_outgoingemail_add")).status_code == 403


def test_a_member_of_both_markets_resends_only_through_the_right_one(login, order, other_market):
    both = MembershipFactory(market=other_market, role="admin")
    MembershipFactory(market=order.market, user=both.user, role="client")

    response = login(both).post(resend_url(other_market, order.recap), {"next": "/"})

    assert response.status_code == 404


def test_a_refused_reminder_followed_by_one_sent_is_not_offered_again(
    login, treasurer, market, camille, distribution, carrots, settings
):
    transfer = place_order(camille, distribution, carrots, "2")
    browser = login(treasurer)
    settings.EMAIL_BACKEND = REFUSING
    browser.post(remind_url(market), selection(transfer, token="f" * 32))
    run_jobs()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    browser.post(remind_url(market), selection(transfer, token="0" * 32))
    run_jobs()

    page = browser.get(page_url(market))

    assert list(page.context["emails_not_sent"]) == []
    assert REFUSED not in html.unescape(page.content.decode())
    (row,) = page.context["sections"][0]["rows"]
    assert (row.reminder_count, row.last_reminder_failed) == (1, False)


def test_the_order_page_says_where_the_last_email_stands(login, admin, order):
    url = reverse("order_edit", args=[order.market.slug, order.pk])

    page = login(admin).get(url).content.decode()

    assert "Dernier email au client" in page and "email non envoyé" in page


def test_an_orders_last_email_and_those_not_sent_are_read_in_one_query(
    order, django_assert_num_queries
):
    with django_assert_num_queries(1):
        latest, not_sent = emails_about(f"order:{order.pk}")
    assert latest == order.recap and not_sent == [order.recap]
    assert emails_about("order:0") == (None, [])
