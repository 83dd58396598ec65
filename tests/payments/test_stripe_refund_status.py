"""The basket page says a refund is done only once Stripe's event confirmed it."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from payments.stripe.refunds import refund_request
from tests.jobs import run_jobs


@pytest.fixture
def received(checkout, fake_stripe, deliver):
    fake_stripe.pay(checkout.session_id)
    deliver(fake_stripe.session_event("checkout.session.completed", checkout.session_id))
    checkout.refresh_from_db()
    return checkout


def _basket_page(client, payment) -> str:
    order = payment.order
    url = reverse("day_basket", args=[payment.market.slug, order.distribution_id, order.pk])
    return client.get(url).content.decode()


def _refund_line(page: str) -> str:
    return re.search(r'<li data-status="\w+">([^<]*)</li>', page)[1]


def test_a_refund_stripe_accepted_but_not_confirmed_reads_as_awaiting_confirmation(
    login, admin, received, fake_stripe, deliver
):
    refund = refund_request(
        payment=received.payment, amount=Decimal("4.60"), requested_by=admin.user, token="a" * 32
    )
    assert "en attente de Stripe" in _refund_line(_basket_page(login(admin), received.payment))
    run_jobs()  # the job asks Stripe
    refund.refresh_from_db()
    assert refund.status == "succeeded"  # Stripe's answer to the request
    page = _basket_page(login(admin), received.payment)

    assert "demandé, en attente de confirmation" in _refund_line(page)
    assert "Effectué" not in _refund_line(page)

    deliver(fake_stripe.refunded_event(received.session_id))

    assert _refund_line(_basket_page(login(admin), received.payment)).endswith(": Effectué")
