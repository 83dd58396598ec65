"""`stripe_reconcile` tells its scheduler when Stripe failed it, and a 4xx Stripe answers
in plain text is a refusal, not an outage tried again for ever."""

import logging
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from procrastinate.contrib.django import app

from payments.models import ProducerTransfer, StripeCheckout
from payments.stripe import gateway
from payments.tasks import stripe_reconcile_job

TRANSFERS = r"/v1/transfers"


def _reconcile(stderr=None) -> str:
    out = StringIO()
    call_command("stripe_reconcile", "--minutes=0", stdout=out, stderr=stderr or StringIO())
    return out.getvalue()


def test_reconcile_exits_non_zero_and_says_what_failed_when_stripe_fails(
    checkout, fake_stripe, caplog
):
    fake_stripe.fail("GET", r"/v1/checkout/sessions/[\w-]+", 503)
    err = StringIO()

    with caplog.at_level(logging.ERROR), pytest.raises(CommandError, match="1 Stripe call"):
        _reconcile(err)

    assert f"session {checkout.session_id}" in err.getvalue()
    assert any(checkout.session_id in r.getMessage() for r in caplog.records)


def test_reconcile_exits_non_zero_while_a_transfer_cannot_be_sent(
    basket, producers, fake_stripe, pay
):
    fake_stripe.fail("POST", TRANSFERS, 503)
    pay(basket)
    failed = ProducerTransfer.objects.get(status="failed")
    fake_stripe.fail("POST", TRANSFERS, 503)  # still down at the next run
    err = StringIO()

    with pytest.raises(CommandError):
        _reconcile(err)

    assert f"transfer {failed.pk} to {failed.destination}" in err.getvalue()
    assert "1 transfer(s) to producers sent." in _reconcile()  # and all is well again


def test_reconcile_exits_zero_when_every_call_went_through(checkout, fake_stripe):
    fake_stripe.pay(checkout.session_id)

    assert "paid: 1" in _reconcile()
    assert StripeCheckout.objects.get().status == "paid"


@pytest.mark.parametrize("status", [400, 404])
def test_a_plain_text_4xx_from_stripe_is_a_refusal(fake_stripe, status):
    fake_stripe.fail("POST", TRANSFERS, status, text="Bad Request")

    with pytest.raises(gateway.GatewayRefused):
        gateway.transfer_create(
            amount=gateway.from_cents(100),
            destination="acct_1",
            transfer_group="order-1",
            source_transaction="",
            idempotency_key="k",
            metadata={},
        )


@pytest.mark.parametrize("status", [401, 429, 502, 503])
def test_a_plain_text_answer_that_may_pass_is_left_to_try_again(fake_stripe, status):
    fake_stripe.fail("GET", TRANSFERS, status, text="Try later")

    with pytest.raises(gateway.GatewayUnavailable):
        gateway.transfers_list(transfer_group="order-1", destination="acct_1")


def test_a_transfer_refused_in_plain_text_is_not_tried_again(basket, producers, fake_stripe, pay):
    fake_stripe.fail("POST", TRANSFERS, 400, text="<html>400 Bad Request</html>")
    pay(basket)
    refused = ProducerTransfer.objects.get(status="refused")

    _reconcile()

    refused.refresh_from_db()
    assert refused.status == "refused" and "400 Bad Request" in refused.error
    assert len(fake_stripe.calls("POST", TRANSFERS)) == 2


# -- The same reconciliation, run by the queue every 15 minutes -----------------------


def test_the_periodic_job_settles_a_paid_session_whose_webhook_never_came(checkout, fake_stripe):
    fake_stripe.pay(checkout.session_id)
    StripeCheckout.objects.filter(pk=checkout.pk).update(
        created_at=timezone.now() - timedelta(minutes=31)
    )

    assert stripe_reconcile_job(timestamp=int(time.time())) == 0

    checkout.refresh_from_db()
    assert checkout.status == "paid" and checkout.payment.status == "received"


def test_the_periodic_job_logs_each_stripe_failure_at_error(checkout, fake_stripe, caplog):
    fake_stripe.fail("GET", r"/v1/checkout/sessions/[\w-]+", 503)
    StripeCheckout.objects.filter(pk=checkout.pk).update(
        created_at=timezone.now() - timedelta(minutes=31)
    )

    with caplog.at_level(logging.ERROR):
        assert stripe_reconcile_job(timestamp=int(time.time())) == 1

    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(checkout.session_id in message for message in errors)
    assert "stripe_reconcile: 1 Stripe call(s) failed" in errors


def test_the_periodic_jobs_are_scheduled_from_the_settings():
    schedules = {key[1]: task.cron for key, task in app.periodic_registry.periodic_tasks.items()}

    assert schedules == {
        "jobs_unstall": "* * * * *",
        "stripe_reconcile": "*/15 * * * *",
        "transfer_reminders_auto": "0 * * * *",
        "check_ledger": "0 3 * * *",
        "exports_purge": "17 * * * *",
    }
    assert all(
        app.tasks[name].queueing_lock == name
        for name in ("jobs_unstall", "stripe_reconcile", "transfer_reminders_auto", "check_ledger")
    )
