"""Stripe remembers an idempotency key for 24 hours only, and replays a 500 it saved
for it until then: a transfer or reversal whose outcome is unknown is looked up at
Stripe before it is sent again, never trusted to the key alone."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from payments.models import ProducerTransfer
from payments.stripe.refunds import refund_request
from tests.jobs import run_jobs

TRANSFERS = r"/v1/transfers"
REVERSALS = r"/v1/transfers/[\w-]+/reversals"


def _reconcile() -> str:
    out = StringIO()
    call_command("stripe_reconcile", stdout=out, stderr=StringIO())
    return out.getvalue()


def _sent_to(fake_stripe, destination: str) -> list[dict]:
    return [t for t in fake_stripe.transfers.values() if t["destination"] == destination]


def test_a_transfer_whose_answer_was_lost_is_not_paid_again_a_day_later(
    basket, producers, fake_stripe, pay
):
    fake_stripe.lose_answer("POST", TRANSFERS)  # the first transfer is made; its answer times out
    pay(basket)
    lost = ProducerTransfer.objects.get(status="failed")
    fake_stripe.later(hours=25)  # Stripe has forgotten the key

    _reconcile()

    lost.refresh_from_db()
    made = _sent_to(fake_stripe, lost.destination)
    assert len(made) == 1
    assert (lost.status, lost.transfer_id) == ("sent", made[0]["id"])
    assert len(fake_stripe.calls("POST", TRANSFERS)) == 2  # looked up, not sent again


def test_a_transfer_stripe_saved_a_500_for_is_sent_again_under_a_new_key(
    basket, producers, fake_stripe, pay
):
    fake_stripe.fail("POST", TRANSFERS, 500)  # saved for its key, replayed for 24 hours
    pay(basket)
    failed = ProducerTransfer.objects.get(status="failed")

    assert "1 transfer(s) to producers sent." in _reconcile()

    failed.refresh_from_db()
    assert failed.status == "sent"
    assert len(_sent_to(fake_stripe, failed.destination)) == 1
    first, again = [
        c
        for c in fake_stripe.calls("POST", TRANSFERS)
        if c.params["destination"] == failed.destination
    ]
    assert again.idempotency_key == f"{first.idempotency_key}-attempt-2"


def test_a_transfer_stripe_made_before_a_crash_is_found_not_sent_twice(
    basket, producers, fake_stripe, pay
):
    pay(basket)
    row = ProducerTransfer.objects.order_by("pk").first()
    # The process stopped while Stripe made it: the row still says pending.
    ProducerTransfer.objects.filter(pk=row.pk).update(status="pending", transfer_id="")
    fake_stripe.later(hours=25)

    _reconcile()

    row.refresh_from_db()
    assert row.status == "sent"
    assert len(_sent_to(fake_stripe, row.destination)) == 1


def test_a_reversal_whose_answer_was_lost_is_not_made_again_a_day_later(
    basket, producers, fake_stripe, pay, deliver
):
    checkout = pay(basket)
    refund_request(
        payment=checkout.received_payment,
        amount=Decimal("24.85"),
        requested_by=None,
        token="r" * 32,
    )
    run_jobs()  # the refund asked of Stripe
    fake_stripe.lose_answer("POST", REVERSALS)  # made; its answer times out
    assert deliver(fake_stripe.refunded_event(checkout.session_id)).status_code == 200
    run_jobs()
    fake_stripe.later(hours=25)

    _reconcile()

    assert {row.reversal_status for row in ProducerTransfer.objects.all()} == {"sent"}
    assert len(fake_stripe.transfer_reversals) == 2  # one per transfer
    assert all(t["reversed"] for t in fake_stripe.transfers.values())


def test_a_reversal_stripe_saved_a_500_for_is_asked_again_under_a_new_key(
    basket, producers, fake_stripe, pay, deliver
):
    checkout = pay(basket)
    refund_request(
        payment=checkout.received_payment,
        amount=Decimal("24.85"),
        requested_by=None,
        token="s" * 32,
    )
    run_jobs()  # the refund asked of Stripe
    fake_stripe.fail("POST", REVERSALS, 500)
    assert deliver(fake_stripe.refunded_event(checkout.session_id)).status_code == 200
    run_jobs()

    assert "1 transfer reversal(s) made." in _reconcile()

    assert all(t["reversed"] for t in fake_stripe.transfers.values())
    keys = [c.idempotency_key for c in fake_stripe.calls("POST", REVERSALS)]
    assert len(keys) == 3 and keys[-1].endswith("-attempt-2")


def test_a_refund_stripe_saved_a_500_for_is_made_once_when_stripe_forgets_the_key(
    basket, producers, fake_stripe, pay
):
    checkout = pay(basket)
    fake_stripe.fail("POST", r"/v1/refunds", 500)
    asked = refund_request(
        payment=checkout.received_payment, amount=Decimal("5.00"), requested_by=None, token="t" * 32
    )
    with pytest.raises(CommandError):  # the saved 500 is replayed: still awaited
        _reconcile()
    asked.refresh_from_db()
    assert (asked.status, asked.refund_id) == ("requested", "")

    fake_stripe.later(hours=25)
    _reconcile()
    _reconcile()

    asked.refresh_from_db()
    assert asked.refund_id in fake_stripe.refunds
    assert len(fake_stripe.refunds) == 1
