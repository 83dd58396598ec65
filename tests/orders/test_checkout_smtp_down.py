"""A mail server that is down delays the emails, never the client or the treasurer.

Real components, really started: ``manage.py procrastinate worker`` processes
(tests/workers.py) whose mail server is a closed port on 127.0.0.1, the real
checkout and « Virements attendus » views through the Django test client, and
then a real SMTP server (aiosmtpd) brought up on that port: each email reaches
it exactly once.
"""

import re
import time
from email.header import decode_header, make_header

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import EmailStatus, OutgoingEmail
from orders.models import Order
from payments.bank_transfers import pending_transfers
from tests.payments import test_transfers as transfers_page
from tests.payments.test_transfers import place_order, remind_url, selection
from tests.smtp import MailServer, free_port
from tests.workers import wait_until

# A market with an IBAN, Camille (a client), a distribution and carrots to order.
market = transfers_page.market
camille = transfers_page.camille
carrots = transfers_page.carrots
distribution = transfers_page.distribution

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SETTLE_SECONDS = 2  # after delivery, long enough for a second send to show up


@pytest.fixture
def mail_server_down(settings):
    """A closed port, where the web process too would find no mail server."""
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return port


@pytest.fixture
def worker(start_worker, mail_server_down):
    """A worker whose mail server is that closed port, trying again every second or two.

    It is waited for until it has started, so that its start (a whole Django
    on a shared machine) is not counted in the time the web request takes.
    """
    worker = start_worker(
        EMAIL_URL=f"smtp://127.0.0.1:{mail_server_down}",
        JOB_RETRY_FIRST="1",
        JOB_RETRY_LONGEST="2",
    )
    wait_until(_a_worker_is_up, what="the worker started\n" + worker.output())
    return worker


def _a_worker_is_up() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_workers")
        return cursor.fetchone()[0] > 0


@pytest.fixture
def mail_server(mail_server_down):
    """``mail_server()`` brings the SMTP server up on the port that was closed."""
    started = []

    def _start() -> MailServer:
        started.append(MailServer(mail_server_down).start())
        return started[-1]

    yield _start
    for server in started:
        server.stop()


def shop_url(distribution, name):
    return reverse(name, args=[distribution.market.slug, distribution.pk])


def check_out(browser, distribution, carrots):
    """The client fills the basket and chooses a cheque; ``(response, seconds)`` of the choice."""
    filled = browser.post(shop_url(distribution, "distribution_shop"), {f"qty-{carrots.pk}": "2"})
    assert filled.status_code == 302, filled.content.decode()
    page = browser.get(shop_url(distribution, "checkout_payment")).content.decode()
    token = re.search(r'name="form_token" value="([0-9a-f]{32})"', page).group(1)
    return timed(
        browser.post,
        shop_url(distribution, "checkout_payment"),
        {"choice": "cheque", "form_token": token},
    )


def timed(call, *args, **kwargs):
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def subject(message) -> str:
    """The subject as the client reads it (the server keeps it encoded)."""
    return str(make_header(decode_header(message["Subject"])))


def email_about(about: str) -> OutgoingEmail:
    return OutgoingEmail.objects.get(about=about)


def test_a_checkout_while_the_mail_server_is_down_is_confirmed_at_once_and_mailed_once_up(
    login, camille, distribution, carrots, worker, mail_server
):
    browser = login(camille)
    response, seconds = check_out(browser, distribution, carrots)

    (order,) = Order.objects.filter(membership=camille)
    confirmation = reverse("order_detail", args=[order.market.slug, order.pk])
    assert (response.status_code, response.url) == (302, confirmation)
    assert seconds < 1, f"the order was recorded in {seconds:.2f} s"
    page, seconds = timed(browser.get, confirmation)
    assert page.status_code == 200
    assert seconds < 1, f"the confirmation took {seconds:.2f} s"
    assert "Votre commande est enregistrée." in page.content.decode()
    about = f"order:{order.pk}"
    wait_until(
        lambda: email_about(about).attempts >= 1,
        what="a first try against the closed port\n" + worker.output(),
    )
    assert email_about(about).status == EmailStatus.PENDING

    server = mail_server()
    wait_until(
        lambda: email_about(about).status == EmailStatus.SENT,
        what="the recap delivered once the server is up\n" + worker.output(),
    )
    time.sleep(SETTLE_SECONDS)

    email = email_about(about)
    assert email.attempts >= 2
    (message,) = server.messages
    assert subject(message) == email.subject
    assert message["To"] == "camille@exemple.fr"
    assert f"panier n° {order.number}" in subject(message)


def test_a_reminder_sent_while_the_mail_server_is_down_reaches_it_once_it_is_up(
    login, treasurer, market, camille, distribution, carrots, worker, mail_server
):
    transfer = place_order(camille, distribution, carrots, "5")  # no recap: notify=False

    response, seconds = timed(
        login(treasurer).post, remind_url(market), selection(transfer), follow=True
    )

    assert response.status_code == 200
    assert seconds < 1, f"the page took {seconds:.2f} s"
    assert "1 rappel en cours d'envoi." in [str(m) for m in response.context["messages"]]
    about = f"payment:{transfer.pk}"
    wait_until(
        lambda: email_about(about).attempts >= 1,
        what="a first try against the closed port\n" + worker.output(),
    )
    (row,) = pending_transfers(market)
    assert (row.reminder_count, row.last_reminder_pending) == (0, True)

    server = mail_server()
    wait_until(
        lambda: email_about(about).status == EmailStatus.SENT,
        what="the reminder delivered once the server is up\n" + worker.output(),
    )
    time.sleep(SETTLE_SECONDS)

    (message,) = server.messages
    assert transfer.reference in subject(message)
    assert message["To"] == "camille@exemple.fr"
    (row,) = pending_transfers(market)
    assert (row.reminder_count, row.last_reminder_failed) == (1, False)
