"""A webhook arriving while the database cannot be reached answers 503: nothing is
stored, and Stripe delivers the event again later; once the database is back, the
same delivery is stored and applied once."""

from decimal import Decimal
from unittest import mock

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper
from django.urls import reverse

from payments.models import Payment, StripeCheckout, StripeEvent
from tests.jobs import run_jobs

from .conftest import online_payment, open_session, order_online

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _database_down():
    """Every new connection is refused, as when PostgreSQL restarts."""
    connection.close()
    refused = psycopg.OperationalError("connection to server at 127.0.0.1 failed: refused")
    return mock.patch.object(DatabaseWrapper, "get_new_connection", side_effect=refused)


def _post(client, fake_stripe, event):
    payload, signature = fake_stripe.signed(event)
    return client.post(
        reverse("stripe_webhook"),
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


def test_a_webhook_while_the_database_is_down_answers_503_and_is_applied_once_redelivered(
    client, member, distribution, honey, fake_stripe
):
    checkout = open_session(online_payment(order_online(member, distribution, honey)))
    fake_stripe.pay(checkout.session_id)
    event = fake_stripe.session_event("checkout.session.completed", checkout.session_id)

    with _database_down():
        response = _post(client, fake_stripe, event)

    assert response.status_code == 503  # not a 2xx: Stripe delivers it again
    assert response.content == b""  # no error page
    assert not StripeEvent.objects.exists()

    assert _post(client, fake_stripe, event).status_code == 200  # Stripe's next delivery
    run_jobs()
    payment = Payment.objects.get(pk=checkout.payment_id)
    assert (payment.status, payment.amount) == ("received", Decimal("13.60"))
    assert StripeEvent.objects.get().applied_at is not None
    assert StripeCheckout.objects.get(pk=checkout.pk).status == "paid"


def test_a_malformed_webhook_while_the_database_is_down_answers_503_too(client, db, fake_stripe):
    event = {"id": "evt_test_down", "type": "charge.refunded", "data": {"object": ["ch_1"]}}

    with _database_down():
        response = _post(client, fake_stripe, event)

    assert response.status_code == 503
