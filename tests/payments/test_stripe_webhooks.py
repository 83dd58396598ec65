"""Stripe's webhook: signatures, events handled once whatever the order and timing,
and refunds posted when Stripe confirms them."""

import html
import json
import logging
import re
import time
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from unittest.mock import ANY

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from distributions.day.baskets import day_baskets
from distributions.day.bulk import bulk_plan
from payments.ledger import account_balance, client_account, market_account
from payments.models import (
    AccountKind,
    Payment,
    StripeCheckout,
    StripeEvent,
    StripeRefund,
    Transaction,
)
from payments.stripe.checkout import OnlinePaymentError
from payments.stripe.refunds import refund_request, refundable
from payments.stripe.webhooks import event_apply
from tests.factories import MembershipFactory
from tests.jobs import make_due, queued, run_jobs
from tests.threads import run_together

from .conftest import online_payment, open_session, order_online

NBSP = "\u00a0"


def _payment(checkout) -> Payment:
    return Payment.objects.get(pk=checkout.payment_id)


def _postings(checkout) -> int:
    return Transaction.objects.filter(kind="payment", payment__pk=checkout.payment_id).count()


def _refunds(checkout) -> list[Decimal]:
    entries = client_account(checkout.payment.membership).entries.filter(transaction__kind="refund")
    return sorted(entries.values_list("amount", flat=True))


def _paid(fake_stripe, checkout, *, later=False):
    fake_stripe.pay(checkout.session_id, later=later)
    return fake_stripe.session_event("checkout.session.completed", checkout.session_id)


def _nothing_written(checkout):
    assert not StripeEvent.objects.exists()
    assert _payment(checkout).status == "pending"
    assert _postings(checkout) == 0


# -- Signatures --------------------------------------------------------------------------


def test_a_signed_completed_event_receives_the_payment(checkout, fake_stripe, deliver):
    event = _paid(fake_stripe, checkout)

    response = deliver(event)

    assert response.status_code == 200
    payment = _payment(checkout)
    assert (payment.status, payment.amount) == ("received", Decimal("13.60"))
    assert _postings(checkout) == 1
    assert account_balance(market_account(payment.market, AccountKind.ONLINE)) == Decimal("13.60")
    assert client_account(payment.membership).held == Decimal("0.00")
    stored = StripeEvent.objects.get()
    assert (stored.event_id, stored.type, stored.object_id) == (
        event["id"],
        "checkout.session.completed",
        checkout.session_id,
    )
    checkout.refresh_from_db()
    assert checkout.status == "paid" and checkout.payment_intent.startswith("pi_test_")


def test_once_received_the_basket_shows_paid_at_the_distribution(
    checkout, fake_stripe, deliver, distribution
):
    deliver(_paid(fake_stripe, checkout))

    basket = day_baskets(distribution).get(pk=checkout.payment.order_id)
    assert (basket.received, basket.due) == (Decimal("13.60"), Decimal("0.00"))
    assert bulk_plan(distribution).blocked == []  # nothing for the coordinator to do


def test_a_tampered_payload_is_refused_and_nothing_is_written(client, checkout, fake_stripe):
    event = _paid(fake_stripe, checkout)
    payload, signature = fake_stripe.signed(event)
    tampered = payload.replace('"amount_total": 1360', '"amount_total": 1')

    response = client.post(
        reverse("stripe_webhook"),
        tampered,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )

    assert response.status_code == 400
    _nothing_written(checkout)


@pytest.mark.parametrize(
    "signing",
    [
        {"secret": "whsec_someone_else"},
        {"timestamp": int(time.time()) - 10 * 60},  # older than Stripe's 5 minutes
    ],
    ids=["wrong-secret", "too-old"],
)
def test_a_wrongly_signed_or_too_old_event_is_refused(checkout, fake_stripe, deliver, signing):
    response = deliver(_paid(fake_stripe, checkout), **signing)

    assert response.status_code == 400
    _nothing_written(checkout)


@pytest.mark.parametrize("header", [None, "", "t=abc,v1=00", "v1=deadbeef"])
def test_a_missing_or_garbled_signature_is_refused(client, checkout, fake_stripe, header):
    payload = json.dumps(_paid(fake_stripe, checkout))
    extra = {} if header is None else {"HTTP_STRIPE_SIGNATURE": header}

    response = client.post(
        reverse("stripe_webhook"), payload, content_type="application/json", **extra
    )

    assert response.status_code == 400
    _nothing_written(checkout)


@pytest.mark.parametrize(
    "event",
    [
        {"object": "event", "type": "charge.refunded", "data": {"object": {"id": "ch_1"}}},
        {"id": "evt_test_1", "data": {"object": {"id": "ch_1"}}},
        {"id": "evt_test_1", "type": "charge.refunded", "data": "ch_1"},
        {"id": "evt_test_1", "type": "charge.refunded", "data": {"object": ["ch_1"]}},
        {"id": "evt_test_1", "type": "charge.refunded"},
        {"id": ["evt_test_1"], "type": "charge.refunded", "data": {"object": {}}},
        ["evt_test_1"],
    ],
    ids=[
        "no-id",
        "no-type",
        "data-not-an-object",
        "object-not-an-object",
        "no-data",
        "id-not-a-string",
        "not-an-object",
    ],
)
def test_a_signed_but_malformed_event_is_refused_and_nothing_is_written(deliver, db, event):
    response = deliver(event)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_the_webhook_takes_only_posts(client):
    assert client.get(reverse("stripe_webhook")).status_code == 405


# -- Once, whatever the deliveries --------------------------------------------------------------


def test_the_same_event_delivered_ten_times_posts_once(checkout, fake_stripe, deliver):
    event = _paid(fake_stripe, checkout)

    statuses = {deliver(event).status_code for _ in range(10)}

    assert statuses == {200}
    assert StripeEvent.objects.count() == 1
    assert _postings(checkout) == 1
    assert client_account(checkout.payment.membership).held == Decimal("0.00")


def test_completed_arriving_after_async_payment_succeeded_posts_once(
    checkout, fake_stripe, deliver
):
    completed = _paid(fake_stripe, checkout, later=True)  # sent first, delivered last
    fake_stripe.settle_later_payment(checkout.session_id)
    succeeded = fake_stripe.session_event(
        "checkout.session.async_payment_succeeded", checkout.session_id
    )

    deliver(succeeded)
    deliver(completed)

    checkout.refresh_from_db()
    assert checkout.status == "paid"  # the late "processing" does not move it back
    assert _payment(checkout).status == "received"
    assert _postings(checkout) == 1
    assert StripeEvent.objects.count() == 2


def test_a_delayed_payment_is_processing_then_received_on_success(checkout, fake_stripe, deliver):
    deliver(_paid(fake_stripe, checkout, later=True))
    checkout.refresh_from_db()
    assert checkout.status == "processing" and _payment(checkout).status == "pending"

    fake_stripe.settle_later_payment(checkout.session_id)
    deliver(
        fake_stripe.session_event("checkout.session.async_payment_succeeded", checkout.session_id)
    )

    assert _payment(checkout).status == "received"
    assert _postings(checkout) == 1


def test_a_failed_delayed_payment_cancels_the_payment(checkout, fake_stripe, deliver):
    deliver(_paid(fake_stripe, checkout, later=True))
    fake_stripe.settle_later_payment(checkout.session_id, succeeded=False)

    deliver(fake_stripe.session_event("checkout.session.async_payment_failed", checkout.session_id))

    checkout.refresh_from_db()
    assert checkout.status == "failed"
    assert _payment(checkout).status == "cancelled"
    assert _postings(checkout) == 0
    assert client_account(checkout.payment.membership).held == Decimal("-13.60")


def test_an_expired_session_cancels_the_payment_and_lets_the_client_choose_again(
    login, member, checkout, fake_stripe, deliver
):
    fake_stripe.expire(checkout.session_id)

    deliver(fake_stripe.session_event("checkout.session.expired", checkout.session_id))

    payment = _payment(checkout)
    assert payment.status == "cancelled"
    shopper = login(member)
    change = reverse(
        "online_payment_change",
        kwargs={"market_slug": payment.market.slug, "payment_id": payment.pk},
    )
    page = shopper.get(change)
    token = re.search(r'name="form_token" value="([0-9a-f]{32})"', page.content.decode())[1]
    shopper.post(change, {"choice": "transfer", "form_token": token})
    new = payment.order.payments.get(status="pending")
    assert (new.method, new.amount) == ("transfer", Decimal("13.60"))


def test_an_expired_event_after_the_payment_changes_nothing(checkout, fake_stripe, deliver):
    deliver(_paid(fake_stripe, checkout))
    paid_session = fake_stripe.sessions[checkout.session_id]
    late = fake_stripe.event("checkout.session.expired", {**paid_session, "status": "expired"})

    deliver(late)

    checkout.refresh_from_db()
    assert checkout.status == "paid" and _payment(checkout).status == "received"


def test_an_event_about_a_session_that_is_not_ours_is_acknowledged(fake_stripe, deliver, db):
    stranger = {"id": "cs_test_elsewhere", "object": "checkout.session", "status": "complete"}
    stranger |= {"payment_status": "paid", "amount_total": 500, "metadata": {}}

    response = deliver(fake_stripe.event("checkout.session.completed", stranger))

    assert response.status_code == 200
    assert not Transaction.objects.exists()


def test_a_session_whose_row_was_lost_is_found_through_its_metadata(checkout, fake_stripe, deliver):
    # The request that opened it died before saving the session.
    session_id = checkout.session_id
    StripeCheckout.objects.filter(pk=checkout.pk).delete()

    deliver(_paid(fake_stripe, checkout))

    adopted = StripeCheckout.objects.get(session_id=session_id)
    assert (adopted.payment_id, adopted.status) == (checkout.payment_id, "paid")
    assert _postings(checkout) == 1


def test_a_second_paid_session_for_one_payment_becomes_a_credit(
    member, checkout, fake_stripe, deliver
):
    # Two tabs: the client paid twice. The money arrived twice; nothing is lost.
    second = StripeCheckout.objects.create(
        payment=checkout.payment, attempt=2, session_id="cs_test_second", amount=Decimal("13.60")
    )
    deliver(_paid(fake_stripe, checkout))
    session = {**fake_stripe.sessions[checkout.session_id], "id": second.session_id}

    deliver(fake_stripe.event("checkout.session.completed", session))
    deliver(fake_stripe.event("checkout.session.completed", session))

    assert Payment.objects.filter(status="received").count() == 2
    assert client_account(member).held == Decimal("13.60")  # an « avoir », refundable


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_events_for_one_session_delivered_together_post_once(
    member, distribution, honey, fake_stripe
):
    checkout = open_session(online_payment(order_online(member, distribution, honey)))
    completed = _paid(fake_stripe, checkout)
    succeeded = fake_stripe.session_event(
        "checkout.session.async_payment_succeeded", checkout.session_id
    )
    deliveries = [fake_stripe.signed(event) for event in (completed, succeeded)]

    def deliver(i):
        payload, signature = deliveries[i]
        return (
            Client()
            .post(
                reverse("stripe_webhook"),
                payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )
            .status_code
        )

    results, errors = run_together(deliver, 2)
    assert errors == []
    assert sorted(results) == [200, 200]
    # Their two jobs, run at the same time (the session's row lock keeps them apart).
    _, errors = run_together(lambda i: event_apply([completed, succeeded][i]["id"]), 2)

    assert errors == []
    assert _postings(checkout) == 1
    assert StripeEvent.objects.count() == 2
    assert client_account(member).held == Decimal("0.00")
    call_command("check_ledger", stdout=StringIO())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_event_delivered_eight_times_at_once_posts_once(
    member, distribution, honey, fake_stripe
):
    checkout = open_session(online_payment(order_online(member, distribution, honey)))
    payload, signature = fake_stripe.signed(_paid(fake_stripe, checkout))

    def deliver(_i):
        return (
            Client()
            .post(
                reverse("stripe_webhook"),
                payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )
            .status_code
        )

    results, errors = run_together(deliver, 8)

    assert errors == [] and set(results) == {200}
    assert StripeEvent.objects.count() == 1
    event_id = json.loads(payload)["id"]
    jobs = [job for job in queued("stripe_event_apply") if job["args"]["event_id"] == event_id]
    assert len(jobs) == 1  # stored once, one job
    run_jobs()
    assert _postings(checkout) == 1


# -- Refunds -------------------------------------------------------------------------------------


@pytest.fixture
def received(checkout, fake_stripe, deliver):
    """The online payment, paid and received."""
    deliver(_paid(fake_stripe, checkout))
    checkout.refresh_from_db()
    return checkout


def _basket_url(name, payment, **kwargs):
    order = payment.order
    return reverse(
        name,
        kwargs={
            "market_slug": payment.market.slug,
            "distribution_id": order.distribution_id,
            "order_id": order.pk,
            **kwargs,
        },
    )


def _refund_form(admin_client, payment) -> dict:
    page = admin_client.get(_basket_url("day_basket", payment))
    html = page.content.decode()
    prefix = f"remboursement-{payment.pk}"
    token = re.search(rf'name="{prefix}-form_token" value="([0-9a-f]{{32}})"', html)[1]
    return {"prefix": prefix, "token": token, "html": html}


def _ask_refund(admin_client, payment, amount, token, prefix):
    return admin_client.post(
        _basket_url("online_refund", payment, payment_id=payment.pk),
        {f"{prefix}-amount": amount, f"{prefix}-form_token": token},
    )


def test_a_refund_confirmed_by_stripe_is_posted_once(received, fake_stripe, deliver):
    refund_request(
        payment=received.payment,
        amount=Decimal("13.60"),
        requested_by=None,
        token="a" * 32,
    )
    run_jobs()
    event = fake_stripe.refunded_event(received.session_id)

    for _ in range(3):
        deliver(event)

    assert _refunds(received) == [Decimal("13.60")]
    payment = _payment(received)
    assert payment.status == "received"  # it was paid; the money went back later
    assert account_balance(market_account(payment.market, AccountKind.ONLINE)) == Decimal("0.00")
    assert client_account(payment.membership).held == Decimal("-13.60")
    call_command("check_ledger", stdout=StringIO())


def test_partial_refunds_confirmed_out_of_order_post_each_cent_once(received, fake_stripe, deliver):
    payment = received.payment
    refund_request(payment=payment, amount=Decimal("5.00"), requested_by=None, token="b" * 32)
    run_jobs()
    first = fake_stripe.refunded_event(received.session_id)  # 5,00 € refunded so far
    refund_request(payment=payment, amount=Decimal("3.60"), requested_by=None, token="c" * 32)
    run_jobs()
    second = fake_stripe.refunded_event(received.session_id)  # 8,60 € so far

    deliver(second)
    deliver(first)
    deliver(second)

    assert _refunds(received) == [Decimal("3.60"), Decimal("5.00")]  # one posting per refund
    received.refresh_from_db()
    assert received.refunded == Decimal("8.60")
    assert client_account(payment.membership).held == Decimal("-8.60")


def test_the_admin_refunds_part_of_an_online_payment_from_the_basket_page(
    login, admin, received, fake_stripe, deliver
):
    payment = _payment(received)
    admin_client = login(admin)
    form = _refund_form(admin_client, payment)
    assert "Rembourser sur la carte" in form["html"]

    response = _ask_refund(admin_client, payment, "4,60", form["token"], form["prefix"])
    _ask_refund(admin_client, payment, "4,60", form["token"], form["prefix"])  # double click

    assert response.status_code == 302
    assert fake_stripe.calls("POST", "/v1/refunds") == []  # not from the request: by a job
    page = html.unescape(admin_client.get(response.url).content.decode())
    assert "Remboursement de 4,60 € demandé : en attente de Stripe." in page
    assert re.search(r'<li data-status="requested">[^<]*: en attente de Stripe</li>', page)
    assert len(queued("refund_send")) == 1  # the double click asked once
    run_jobs()
    (call,) = {r.idempotency_key: r for r in fake_stripe.calls("POST", "/v1/refunds")}.values()
    assert call.idempotency_key == f"refund-{received.pk}-{form['token']}"
    assert call.params["amount"] == "460"
    assert call.params["payment_intent"] == received.payment_intent
    assert len(fake_stripe.refunds) == 1
    assert StripeRefund.objects.get().status == "succeeded"
    assert _refunds(received) == []  # not before Stripe confirms it

    deliver(fake_stripe.refunded_event(received.session_id))
    deliver(fake_stripe.refunded_event(received.session_id))

    assert _refunds(received) == [Decimal("4.60")]
    page = admin_client.get(_basket_url("day_basket", payment)).content.decode()
    assert f"remboursé (confirmé par Stripe) : 4,60{NBSP}€" in page
    assert "Monnaie rendue" not in page  # no cash was given back


def test_the_admin_cannot_refund_more_than_was_paid(login, admin, received, fake_stripe):
    payment = _payment(received)
    admin_client = login(admin)
    form = _refund_form(admin_client, payment)

    response = admin_client.get(
        _ask_refund(admin_client, payment, "20,00", form["token"], form["prefix"]).url
    )

    assert "Vous pouvez rembourser au plus 13,60" in response.content.decode()
    assert fake_stripe.calls("POST", "/v1/refunds") == []
    assert not StripeRefund.objects.exists()


def test_only_an_admin_refunds(login, treasurer, received, fake_stripe):
    payment = _payment(received)
    response = login(treasurer).post(
        _basket_url("online_refund", payment, payment_id=payment.pk),
        {
            f"remboursement-{payment.pk}-amount": "1",
            f"remboursement-{payment.pk}-form_token": "d" * 32,
        },
    )

    assert response.status_code == 403
    assert fake_stripe.calls("POST", "/v1/refunds") == []


def test_an_admin_of_another_market_cannot_refund(login, received, fake_stripe, other_market):
    payment = _payment(received)
    stranger = MembershipFactory(market=other_market, role="admin")
    url = _basket_url("online_refund", payment, payment_id=payment.pk).replace(
        f"/m/{payment.market.slug}/", f"/m/{other_market.slug}/"
    )

    response = login(stranger).post(url, {})

    assert response.status_code == 404
    assert fake_stripe.calls("POST", "/v1/refunds") == []


def _ask(checkout, amount, token, by=None):
    """An admin asks for a refund, and its job asks Stripe."""
    refund = refund_request(
        payment=checkout.payment, amount=Decimal(amount), requested_by=by, token=token * 32
    )
    run_jobs()
    refund.refresh_from_db()
    return refund


def _charge_event(fake_stripe, charge: dict) -> dict:
    return fake_stripe.event("charge.refunded", charge)


# -- Refunds that come before the payment is known ----------------------------------------


def test_a_refund_before_the_payment_is_known_settles_the_payment_first(
    checkout, fake_stripe, deliver
):
    # Refunded from Stripe's dashboard while checkout.session.completed is delayed.
    fake_stripe.pay(checkout.session_id)
    fake_stripe.refund_from_dashboard(checkout.session_id, 500)

    response = deliver(fake_stripe.refunded_event(checkout.session_id))

    assert response.status_code == 200
    assert _payment(checkout).status == "received"
    assert _postings(checkout) == 1
    assert _refunds(checkout) == [Decimal("5.00")]
    assert client_account(checkout.payment.membership).held == Decimal("-5.00")


def test_a_refund_on_a_delayed_payment_whose_success_event_is_late_settles_it_first(
    checkout, fake_stripe, deliver
):
    deliver(_paid(fake_stripe, checkout, later=True))  # processing: its intent is known
    fake_stripe.settle_later_payment(checkout.session_id)  # its event is late
    fake_stripe.refund_from_dashboard(checkout.session_id, 1360)

    response = deliver(fake_stripe.refunded_event(checkout.session_id))

    assert response.status_code == 200
    assert _payment(checkout).status == "received"
    assert _refunds(checkout) == [Decimal("13.60")]


def _nothing_applied(checkout, event) -> StripeEvent:
    """The event is stored and waits for its job's next try; nothing else is written."""
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.applied_at is None and stored.attempts == 1
    assert _payment(checkout).status == "pending"
    assert _postings(checkout) == 0
    assert queued("stripe_event_apply") == [
        {"task": "stripe_event_apply", "args": {"event_id": event["id"]}, "lock": ANY}
    ]
    return stored


def test_a_refund_before_the_payment_is_known_waits_while_stripe_cannot_be_asked(
    checkout, fake_stripe, deliver
):
    fake_stripe.pay(checkout.session_id)
    fake_stripe.refund_from_dashboard(checkout.session_id, 500)
    event = fake_stripe.refunded_event(checkout.session_id)
    fake_stripe.fail_next = [500]

    first = deliver(event)

    assert first.status_code == 200  # stored: Stripe need not deliver it again
    assert [ran.outcome for ran in first.jobs] == ["retry"]  # the job tries again later
    assert "GatewayUnavailable" in _nothing_applied(checkout, event).last_error

    assert deliver(event).status_code == 200  # delivered again anyway: nothing more queued
    assert len(queued("stripe_event_apply")) == 1
    make_due()
    assert [ran.outcome for ran in run_jobs()] == ["succeeded"]
    assert _refunds(checkout) == [Decimal("5.00")]
    assert StripeEvent.objects.get(event_id=event["id"]).applied_at is not None


def test_a_refund_on_a_session_stripe_does_not_say_paid_is_left_for_a_later_try(
    checkout, fake_stripe, deliver
):
    fake_stripe.pay(checkout.session_id, later=True)
    intent = fake_stripe.sessions[checkout.session_id]["payment_intent"]
    charge = {"id": "ch_test_early", "object": "charge", "payment_intent": intent}
    charge |= {"amount": 1360, "amount_refunded": 500, "refunds": {"data": [], "has_more": False}}
    event = _charge_event(fake_stripe, charge)

    response = deliver(event)

    assert response.status_code == 200
    assert [ran.outcome for ran in response.jobs] == ["retry"]
    assert "RefundTooEarly" in _nothing_applied(checkout, event).last_error
    assert _refunds(checkout) == []


def test_the_events_of_one_payment_share_a_lock_and_its_session_goes_first(
    checkout, fake_stripe, deliver
):
    fake_stripe.pay(checkout.session_id)
    fake_stripe.refund_from_dashboard(checkout.session_id, 500)
    refunded = fake_stripe.refunded_event(checkout.session_id)
    completed = fake_stripe.session_event("checkout.session.completed", checkout.session_id)

    deliver(refunded, run=False)  # Stripe keeps no order: the refund comes first
    deliver(completed, run=False)

    jobs = queued("stripe_event_apply")
    intent = fake_stripe.sessions[checkout.session_id]["payment_intent"]
    assert {job["lock"] for job in jobs} == {f"stripe-payment:{intent}"}
    ran = run_jobs()  # in priority order: the session's event, then the refund's
    assert [r.args["event_id"] for r in ran] == [completed["id"], refunded["id"]]
    assert [r.outcome for r in ran] == ["succeeded", "succeeded"]
    assert _payment(checkout).status == "received"
    assert _refunds(checkout) == [Decimal("5.00")]


def test_a_refund_on_a_charge_that_is_not_ours_is_acknowledged_and_logged(
    fake_stripe, deliver, db, caplog
):
    charge = {"id": "ch_test_elsewhere", "object": "charge", "payment_intent": "pi_test_other"}
    charge |= {"amount": 900, "amount_refunded": 900, "refunds": {"data": [], "has_more": False}}

    with caplog.at_level(logging.WARNING, logger="payments.stripe.refund_events"):
        response = deliver(_charge_event(fake_stripe, charge))

    assert response.status_code == 200
    assert "ch_test_elsewhere: not a payment of ours" in caplog.text
    assert not Transaction.objects.exists()


# -- Refund statuses ------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", ["refund.updated", "charge.refund.updated"])
def test_a_pending_refund_shows_succeeded_on_the_basket_page_once_stripe_says_so(
    login, admin, received, fake_stripe, deliver, event_type
):
    fake_stripe.refund_status = "pending"  # a card that takes days
    refund = _ask(received, "4.60", "e", by=admin.user)
    deliver(fake_stripe.refunded_event(received.session_id))
    refund.refresh_from_db()
    assert (refund.status, refund.posted) == ("pending", True)

    fake_stripe.refund_ends(refund.refund_id, "succeeded")
    deliver(fake_stripe.refund_event(refund.refund_id, event_type))

    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert _refunds(received) == [Decimal("4.60")]
    page = login(admin).get(_basket_url("day_basket", received.payment)).content.decode()
    assert re.search(r'<li data-status="succeeded">[^<]*: Effectué</li>', page)


def test_a_refund_failing_after_it_was_posted_gives_the_money_back_once(
    received, fake_stripe, deliver
):
    fake_stripe.refund_status = "pending"
    refund = _ask(received, "13.60", "f")
    confirmed = fake_stripe.refunded_event(received.session_id)
    deliver(confirmed)
    fake_stripe.refund_ends(refund.refund_id, "failed")
    failed = fake_stripe.refund_event(refund.refund_id)
    stale = _charge_event(fake_stripe, confirmed["data"]["object"])  # an old copy, sent late

    for event in (failed, failed, fake_stripe.refund_event(refund.refund_id, "refund.failed")):
        deliver(event)
    deliver(stale)

    refund.refresh_from_db()
    assert refund.status == "failed"
    reversal = Transaction.objects.get(kind="reversal")
    assert reversal.reverses.kind == "refund"
    payment = _payment(received)
    assert client_account(payment.membership).held == Decimal("0.00")
    assert account_balance(market_account(payment.market, AccountKind.ONLINE)) == Decimal("13.60")
    received.refresh_from_db()
    assert received.refunded == Decimal("0.00")
    assert refundable(received) == Decimal("13.60")  # it can be asked again
    call_command("check_ledger", stdout=StringIO())


def test_a_refund_that_failed_before_its_confirmation_arrived_is_never_posted(
    received, fake_stripe, deliver
):
    fake_stripe.refund_status = "pending"
    refund = _ask(received, "5.00", "g")
    confirmed = fake_stripe.refunded_event(received.session_id)  # sent first, delivered last
    fake_stripe.refund_ends(refund.refund_id, "failed")

    deliver(fake_stripe.refund_event(refund.refund_id))
    deliver(confirmed)

    refund.refresh_from_db()
    assert refund.status == "failed"
    assert _refunds(received) == []
    assert not Transaction.objects.filter(kind="reversal").exists()


def test_a_refund_made_in_the_stripe_dashboard_is_posted_once_and_listed(
    login, admin, received, fake_stripe, deliver
):
    fake_stripe.refund_from_dashboard(received.session_id, 300)
    event = fake_stripe.refunded_event(received.session_id)

    deliver(event)
    deliver(_charge_event(fake_stripe, event["data"]["object"]))  # the same news, twice

    assert _refunds(received) == [Decimal("3.00")]
    row = StripeRefund.objects.get()
    assert (row.amount, row.requested_by, row.status) == (Decimal("3.00"), None, "succeeded")
    page = login(admin).get(_basket_url("day_basket", received.payment)).content.decode()
    assert f"3,00{NBSP}€ remboursé directement chez Stripe le " in page
    assert refundable(received) == Decimal("10.60")


# -- Refund requests whose answer is lost ----------------------------------------------------


def test_a_refund_whose_answer_is_lost_stays_asked_so_it_cannot_be_asked_twice(
    received, fake_stripe
):
    fake_stripe.lose_answers = 1  # Stripe made it; the answer timed out

    refund = _ask(received, "13.60", "h")

    assert (refund.status, refund.refund_id) == ("requested", "")
    assert refundable(received) == Decimal("0.00")
    with pytest.raises(OnlinePaymentError, match="au plus 0,00"):
        _ask(received, "13.60", "i")
    assert len(fake_stripe.refunds) == 1


def test_a_refund_refused_by_stripe_is_failed_and_may_be_asked_again(received, fake_stripe):
    fake_stripe.fail_next = [400]

    refund = _ask(received, "13.60", "j")  # the job stops: no use trying again

    assert (refund.status, queued("refund_send")) == ("failed", [])
    assert "Something went wrong" in refund.error  # Stripe's words, kept for the admin
    assert refundable(received) == Decimal("13.60")


def test_the_admin_is_told_in_french_that_stripes_answer_is_awaited(
    login, admin, received, fake_stripe
):
    payment = _payment(received)
    admin_client = login(admin)
    form = _refund_form(admin_client, payment)
    fake_stripe.lose_answers = 1

    response = _ask_refund(admin_client, payment, "13,60", form["token"], form["prefix"])
    admin_client.get(response.url)  # the message, shown once
    (ran,) = run_jobs()
    assert ran.outcome == "retry"  # tried again later

    page = html.unescape(admin_client.get(response.url).content.decode())
    assert "Timed out" not in page
    assert re.search(r'<li data-status="requested">[^<]*: Réponse de Stripe attendue</li>', page)
    assert "Rembourser</button>" not in page  # nothing left to ask meanwhile


def test_a_refusal_by_stripe_is_told_in_french_and_its_english_text_only_logged(
    login, admin, received, fake_stripe, caplog
):
    payment = _payment(received)
    admin_client = login(admin)
    form = _refund_form(admin_client, payment)
    fake_stripe.fail_next = [400]

    with caplog.at_level(logging.WARNING, logger="payments.stripe.views"):
        response = _ask_refund(admin_client, payment, "4,60", form["token"], form["prefix"])
        admin_client.get(response.url)  # « demandé : en attente de Stripe »
        run_jobs()

    page = html.unescape(admin_client.get(response.url).content.decode())
    assert "Stripe a refusé ce remboursement : rien n'a été remboursé." in page
    assert "Rembourser</button>" in page  # it may be asked again
    assert "Something went wrong" not in page
    assert "Something went wrong" in caplog.text


# -- Reconciliation of refunds ---------------------------------------------------------------


def _reconcile() -> str:
    out = StringIO()
    call_command("stripe_reconcile", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_reconcile_sends_an_awaited_refund_again_with_the_same_key(received, fake_stripe):
    fake_stripe.fail_next = [503]  # Stripe unavailable: nothing was made, nothing saved
    refund = _ask(received, "4.60", "k")
    assert refund.status == "requested"

    output = _reconcile()
    _reconcile()

    first, again = fake_stripe.calls("POST", "/v1/refunds")
    assert first.idempotency_key == again.idempotency_key == refund.idempotency_key
    assert first.params == again.params
    assert len(fake_stripe.refunds) == 1
    refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.refund_id in fake_stripe.refunds
    assert _refunds(received) == [Decimal("4.60")]  # its event lost: caught up too
    assert "1 refund request(s) answered by Stripe." in output


def test_reconcile_records_a_refund_stripe_made_though_its_answer_was_lost(received, fake_stripe):
    fake_stripe.lose_answers = 1
    refund = _ask(received, "13.60", "l")

    _reconcile()

    assert len(fake_stripe.calls("POST", "/v1/refunds")) == 1  # found at Stripe, not asked again
    refund.refresh_from_db()
    assert refund.refund_id == next(iter(fake_stripe.refunds))
    assert _refunds(received) == [Decimal("13.60")]


def test_reconcile_posts_once_a_refund_whose_event_never_came(received, fake_stripe):
    fake_stripe.refund_from_dashboard(received.session_id, 250)

    output = _reconcile()
    _reconcile()

    assert _refunds(received) == [Decimal("2.50")]
    assert "1 session(s) with refunds caught up." in output


def test_reconcile_compares_only_sessions_paid_in_the_last_refund_days(received, fake_stripe):
    StripeCheckout.objects.filter(pk=received.pk).update(
        created_at=timezone.now() - timedelta(days=91)
    )
    fake_stripe.refund_from_dashboard(received.session_id, 250)

    _reconcile()

    assert fake_stripe.calls("GET", "/v1/charges") == []
    assert _refunds(received) == []


# -- Reconciliation of refunds on fully refunded sessions ---------------------------------------


def test_reconcile_reverses_a_full_refund_that_failed_without_telling_us(
    received, fake_stripe, deliver
):
    fake_stripe.refund_status = "pending"
    payment = received.received_payment
    refund = refund_request(
        payment=payment, amount=Decimal("13.60"), requested_by=None, token="y" * 32
    )
    run_jobs()
    refund.refresh_from_db()
    deliver(fake_stripe.refunded_event(received.session_id))
    received.refresh_from_db()
    assert received.refunded == Decimal("13.60")
    fake_stripe.refund_ends(refund.refund_id, "failed")  # its event is lost

    call_command("stripe_reconcile", stdout=StringIO(), stderr=StringIO())

    received.refresh_from_db()
    assert received.refunded == Decimal("0.00")
    assert StripeRefund.objects.get(pk=refund.pk).status == "failed"
    assert Transaction.objects.filter(kind="reversal").count() == 1
