"""Stripe's webhook with real workers: the stored events of one payment are applied
once each, one after another, its session's event first even when the refund's
arrived first."""

import time
from decimal import Decimal

import pytest
from django.urls import reverse

from payments.ledger import client_account
from payments.models import Payment, StripeEvent, Transaction
from tests.cagette.test_jobs_workers import QUIET
from tests.stripe_fake import SECRET_KEY, WEBHOOK_SECRET
from tests.workers import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_workers_apply_a_payment_s_events_once_each_session_first(
    client, checkout, fake_stripe, start_worker
):
    fake_stripe.pay(checkout.session_id)
    fake_stripe.refund_from_dashboard(checkout.session_id, 500)
    refunded = fake_stripe.refunded_event(checkout.session_id)
    completed = fake_stripe.session_event("checkout.session.completed", checkout.session_id)
    started = time.monotonic()
    for event in (refunded, completed, refunded):  # Stripe keeps no order, and repeats
        payload, signature = fake_stripe.signed(event)
        response = client.post(
            reverse("stripe_webhook"),
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
        assert response.status_code == 200
    answered = time.monotonic() - started

    stripe = {**QUIET, "STRIPE_API_BASE": fake_stripe.url, "STRIPE_SECRET_KEY": SECRET_KEY}
    stripe["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    workers = [start_worker(**stripe), start_worker(**stripe)]
    wait_until(
        lambda: not StripeEvent.objects.filter(applied_at__isnull=True).exists(),
        seconds=60,
        what="both events applied\n" + workers[0].output() + workers[1].output(),
    )

    session, refund = (StripeEvent.objects.get(event_id=e["id"]) for e in (completed, refunded))
    assert session.applied_at < refund.applied_at  # the session first, though it came second
    assert (session.attempts, refund.attempts) == (1, 1)  # neither had to wait
    payment = Payment.objects.get(pk=checkout.payment_id)
    assert payment.status == "received"
    assert Transaction.objects.filter(kind="payment", payment=payment).count() == 1
    refunds = client_account(payment.membership).entries.filter(transaction__kind="refund")
    assert list(refunds.values_list("amount", flat=True)) == [Decimal("5.00")]
    print(f"\n3 deliveries answered in {answered:.2f} s; applied by the workers, in order")
