"""Stripe down or hanging, with real workers: the pages answer at once, and once
Stripe is back each transfer and each refund is made exactly once.

Stripe "hanging" is a local port that accepts connections and never answers.
"""

import re
import socket
import threading
import time

import pytest
from django.db import connection
from django.urls import reverse

from payments.models import ProducerTransfer, StripeCheckout, StripeRefund
from tests.stripe_fake import SECRET_KEY
from tests.workers import wait_until

from .conftest import online_payment, open_session

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_jobs_of_other_tests():
    """The flush between tests leaves the queue's tables: start and end with none."""

    def clear():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE procrastinate_jobs CASCADE")

    clear()
    yield
    clear()


class Hanging:
    """A TCP port that accepts every connection and never says a word."""

    def __init__(self):
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._socket.settimeout(0.2)
        self._held: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    @property
    def accepted(self) -> int:
        return len(self._held)

    def _accept(self):
        while not self._stopped.is_set():
            try:
                accepted, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(accepted)  # kept open, never answered

    def stop(self):
        self._stopped.set()
        self._thread.join(timeout=5)
        for held in self._held:
            held.close()
        self._socket.close()


@pytest.fixture
def hanging():
    server = Hanging()
    yield server
    server.stop()


# "At once": well under one try against a hanging Stripe (STRIPE_TIMEOUT, 4 s),
# with room for a loaded machine.
AT_ONCE = 3


def _timed(request):
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


def _refund_form(admin_client, payment) -> dict:
    url = reverse(
        "day_basket",
        args=[payment.market.slug, payment.order.distribution_id, payment.order_id],
    )
    html = admin_client.get(url).content.decode()
    prefix = f"remboursement-{payment.pk}"
    token = re.search(rf'name="{prefix}-form_token" value="([0-9a-f]{{32}})"', html)[1]
    return {"prefix": prefix, "token": token}


def _worker_env(api_base: str) -> dict:
    return {
        "STRIPE_API_BASE": api_base,
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_TIMEOUT": "0.5",
        "STRIPE_NETWORK_RETRIES": "0",
        "JOB_RETRY_FIRST": "1",
    }


def test_with_stripe_hanging_pages_answer_at_once_and_its_return_makes_each_effect_once(
    login, admin, basket, producers, fake_stripe, deliver, hanging, start_worker
):
    # The client paid at Stripe (the session opened while Stripe was there).
    checkout = open_session(online_payment(basket))
    fake_stripe.pay(checkout.session_id)
    paid = fake_stripe.session_event("checkout.session.completed", checkout.session_id)
    down = start_worker(concurrency=3, **_worker_env(hanging.url))

    # Stripe now hangs. Its webhook says the payment is received: the producers'
    # transfers are decided, and left to the worker.
    response, seconds = _timed(lambda: deliver(paid, run=False))  # the worker applies it
    assert response.status_code == 200 and seconds < AT_ONCE
    wait_until(
        lambda: StripeCheckout.objects.get(pk=checkout.pk).received_payment_id,
        what="the worker to apply the stored event",
        seconds=90,
    )
    checkout.refresh_from_db()
    payment = checkout.received_payment
    assert payment.producer_transfers.count() == 2  # the two connected producers

    # The admin refunds part of it from the basket page.
    admin_client = login(admin)
    form = _refund_form(admin_client, payment)
    refund_url = reverse(
        "online_refund",
        args=[payment.market.slug, payment.order.distribution_id, payment.order_id, payment.pk],
    )
    data = {f"{form['prefix']}-amount": "4,60", f"{form['prefix']}-form_token": form["token"]}
    response, seconds = _timed(lambda: admin_client.post(refund_url, data))
    assert response.status_code == 302 and seconds < AT_ONCE
    response, seconds = _timed(lambda: admin_client.post(refund_url, data))  # a double click
    assert seconds < AT_ONCE

    # The worker tries, Stripe does not answer: marked failed, tried again later.
    wait_until(
        lambda: (
            ProducerTransfer.objects.filter(status="failed", attempts__gte=1).count() == 2
            and StripeRefund.objects.exclude(error="").exists()
        ),
        what="a first try against the hanging Stripe",
        seconds=90,  # a worker starting on a busy machine, then Stripe's timeouts
    )
    assert hanging.accepted >= 3
    refund = StripeRefund.objects.get()
    assert (refund.status, refund.refund_id) == ("requested", "")
    assert fake_stripe.calls("POST", "/v1/transfers") == []

    # Stripe is back: a worker pointed at it makes each effect once.
    down.stop()
    start_worker(concurrency=3, **_worker_env(fake_stripe.url))
    wait_until(
        lambda: (
            ProducerTransfer.objects.filter(status="sent").count() == 2
            and StripeRefund.objects.exclude(refund_id="").exists()
        ),
        what="transfers and refund made once Stripe is back",
    )
    sent = sorted(t["destination"] for t in fake_stripe.transfers.values())
    assert sent == ["acct_1Farm", "acct_1Hives"]
    (made,) = fake_stripe.refunds.values()
    assert made["amount"] == 460
    assert StripeRefund.objects.get().refund_id == made["id"]
    time.sleep(3)  # the retries still waiting find it all done
    assert len(fake_stripe.transfers) == 2 and len(fake_stripe.refunds) == 1


def test_with_stripe_hanging_the_client_waits_at_once_and_is_sent_to_stripe_once_it_is_back(
    login, member, online_market, distribution, honey, fake_stripe, hanging, start_worker
):
    down = start_worker(concurrency=3, **_worker_env(hanging.url))
    shopper = login(member)
    shop = reverse("distribution_shop", args=[online_market.slug, distribution.pk])
    shopper.post(shop, {f"qty-{honey.pk}": "2"})
    pay_url = reverse("checkout_payment", args=[online_market.slug, distribution.pk])
    token = re.search(r'name="form_token" value="([0-9a-f]{32})"', shopper.get(pay_url).text)[1]

    response, seconds = _timed(
        lambda: shopper.post(pay_url, {"choice": "online_card", "form_token": token})
    )

    assert response.status_code == 302 and seconds < AT_ONCE
    wait_url = response.url
    wait_until(lambda: hanging.accepted >= 1, what="a first try against the hanging Stripe")
    page, seconds = _timed(lambda: shopper.get(wait_url))
    assert seconds < AT_ONCE and "Connexion au paiement sécurisé…" in page.text

    down.stop()
    start_worker(concurrency=3, **_worker_env(fake_stripe.url))
    wait_until(
        lambda: StripeCheckout.objects.exclude(session_id=None).exists(),
        what="the session opened once Stripe is back",
    )
    checkout = StripeCheckout.objects.get()
    assert shopper.get(wait_url).url == f"{fake_stripe.url}/pay/{checkout.session_id}"
    assert len(fake_stripe.sessions) == 1
