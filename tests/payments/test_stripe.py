"""Online card payment with Stripe Checkout: opening sessions, the return page,
paying again or another way, and reconciliation (against the fake Stripe)."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from payments.ledger import client_account
from payments.models import (
    CheckoutStatus,
    Payment,
    PaymentRechoice,
    PaymentStatus,
    StripeCheckout,
    Transaction,
)
from payments.stripe.gateway import GatewayError, checkout_session_create, from_cents, to_cents
from payments.stripe.opening import _line_label, checkout_request
from tests.factories import MembershipFactory
from tests.jobs import make_due, queued, run_jobs

from .conftest import CANCEL_URL, SUCCESS_URL, online_payment, open_session, order_online

NBSP = "\u00a0"


def _url(name, market, **kwargs):
    return reverse(name, kwargs={"market_slug": market.slug, **kwargs})


def _form_token(response) -> str:
    return re.search(r'name="form_token" value="([0-9a-f]{32})"', response.content.decode())[1]


def _check_out_online(client, distribution, product, quantity="2"):
    """The client fills the basket and chooses « Carte bancaire en ligne »."""
    shop = _url("distribution_shop", distribution.market, distribution_id=distribution.pk)
    client.post(shop, {f"qty-{product.pk}": quantity})
    pay_url = _url("checkout_payment", distribution.market, distribution_id=distribution.pk)
    page = client.get(pay_url)
    return client.post(pay_url, {"choice": "online_card", "form_token": _form_token(page)})


def _return_url(payment, **params):
    url = _url("online_payment_return", payment.market, payment_id=payment.pk)
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def _wait_url(payment):
    return _url("online_payment_wait", payment.market, payment_id=payment.pk)


def _back_from_stripe(shopper, payment, **params):
    """The client lands on the return page: « en cours de confirmation » while the
    job asks Stripe; the job runs; the page, looking again, says the outcome."""
    first = shopper.get(_return_url(payment, **params))
    assert "Paiement en cours de confirmation" in _text(first)
    assert '<meta http-equiv="refresh" content="1; url=' in first.content.decode()
    run_jobs()
    return shopper.get(_return_url(payment, **params, suivi=1))


def _postings(payment) -> int:
    return Transaction.objects.filter(kind="payment", order=payment.order).count()


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


# -- Amounts at the boundary --------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "cents"),
    [("0.29", 29), ("13.60", 1360), ("1234.56", 123456), ("0.01", 1), ("100000.00", 10000000)],
)
def test_amounts_become_exact_cents_and_back(amount, cents):
    assert to_cents(Decimal(amount)) == cents
    assert from_cents(cents) == Decimal(amount)


def test_a_float_or_a_fraction_of_a_cent_never_reaches_stripe():
    with pytest.raises(TypeError):
        to_cents(0.29)
    with pytest.raises(ValueError):
        to_cents(Decimal("1.005"))


# -- Opening the session ----------------------------------------------------------------


def test_choosing_online_card_sends_the_client_to_stripe_checkout(
    login, member, online_market, distribution, honey, fake_stripe
):
    shopper = login(member)
    response = _check_out_online(shopper, distribution, honey, "2")

    payment = Payment.objects.get()
    assert (payment.method, payment.status, payment.amount) == (
        "online_card",
        "pending",
        Decimal("13.60"),
    )
    # Stripe is not called from the request: the client waits while a job opens the session.
    assert response.status_code == 302 and response.url == _wait_url(payment)
    assert not fake_stripe.requests
    waiting = shopper.get(response.url)
    assert "Connexion au paiement sécurisé…" in _text(waiting)
    assert '<meta http-equiv="refresh" content="1">' in waiting.content.decode()
    assert len(queued("checkout_open")) == 1

    run_jobs()

    checkout = StripeCheckout.objects.get()
    response = shopper.get(_wait_url(payment))
    assert response.status_code == 302
    assert response.url == f"{fake_stripe.url}/pay/{checkout.session_id}"
    assert (checkout.payment, checkout.attempt, checkout.status) == (payment, 1, "open")


def test_the_session_asks_the_amount_in_cents_with_a_key_and_metadata_naming_the_payment(
    login, member, online_market, distribution, honey, fake_stripe
):
    _check_out_online(login(member), distribution, honey, "3")
    run_jobs()

    payment = Payment.objects.get()
    (call,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    item = call.params["line_items"][0]
    assert item["price_data"]["unit_amount"] == "2040"  # 3 × 6,80 €
    assert item["price_data"]["currency"] == "eur"
    assert item["quantity"] == "1"
    assert call.idempotency_key == f"checkout-session-{payment.pk}-1"
    assert call.metadata == {
        "payment_id": str(payment.pk),
        "order_id": str(payment.order_id),
        "market_id": str(online_market.pk),
        "attempt": "1",
    }
    intent = call.params["payment_intent_data"]
    assert intent["transfer_group"] == f"order-{payment.order_id}"
    assert intent["metadata"]["payment_id"] == str(payment.pk)
    back = "http://testserver" + _return_url(payment)
    assert call.params["success_url"] == back + "?session_id={CHECKOUT_SESSION_ID}"
    assert call.params["cancel_url"] == back
    assert call.headers["authorization"] == "Bearer sk_test_fake"


def test_asking_again_for_the_same_attempt_gets_the_same_session(checkout, fake_stripe):
    again = checkout_request(
        payment=checkout.payment, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
    )
    run_jobs()  # the job sees the session still open at Stripe

    assert again == checkout
    again.refresh_from_db()
    assert again.status == "open" and not again.checking
    assert len(fake_stripe.calls("POST", "/v1/checkout/sessions")) == 1
    assert len(fake_stripe.sessions) == 1


def test_a_request_sent_again_with_its_key_gets_the_first_session(checkout, fake_stripe):
    # What happens when the answer was lost (timeout, crash before saving it).
    again = {
        "payment": checkout.payment,
        "attempt": 1,
        "label": _line_label(checkout.payment),
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
    }

    session = checkout_session_create(**again)

    assert session["id"] == checkout.session_id
    assert len(fake_stripe.sessions) == 1
    with pytest.raises(GatewayError, match="same parameters"):
        checkout_session_create(**{**again, "label": "Autre chose"})


def test_when_stripe_is_down_the_order_is_kept_and_the_client_can_pay_later(
    login, member, online_market, distribution, honey, fake_stripe
):
    fake_stripe.fail_next = [503]  # down: nothing carried out, nothing saved
    shopper = login(member)

    response = _check_out_online(shopper, distribution, honey)
    (ran,) = [ran for ran in run_jobs() if ran.task == "checkout_open"]

    payment = Payment.objects.get()
    assert ran.outcome == "retry"  # tried again later, with backoff
    assert payment.status == "pending" and not StripeCheckout.objects.get().session_id
    page = shopper.get(response.url)
    assert "Connexion au paiement sécurisé…" in _text(page)
    assert "nous réessayons" in _text(page)
    assert "Choisir un autre moyen de paiement" in _text(page)

    make_due()
    run_jobs()

    response = shopper.get(_wait_url(payment))
    checkout = StripeCheckout.objects.get(payment=payment)
    assert response.url == checkout.url == f"{fake_stripe.url}/pay/{checkout.session_id}"
    assert len(fake_stripe.sessions) == 1


def test_when_stripe_refuses_the_session_the_client_can_retry_or_pay_another_way(
    login, member, online_market, distribution, honey, fake_stripe
):
    fake_stripe.fail_next = [400]
    shopper = login(member)
    response = _check_out_online(shopper, distribution, honey)
    run_jobs()

    page = shopper.get(response.url)

    assert "n'a pas pu être préparé" in _text(page)
    assert "<meta" not in page.content.decode().split("<body")[0].split("viewport")[1]
    assert "Réessayer" in _text(page) and "Choisir un autre moyen de paiement" in _text(page)
    payment = Payment.objects.get()
    assert StripeCheckout.objects.get().error
    response = shopper.post(_url("online_payment_pay", online_market, payment_id=payment.pk))
    shopper.post(_url("online_payment_pay", online_market, payment_id=payment.pk))  # twice
    assert len(queued("checkout_open")) == 1
    run_jobs()
    assert shopper.get(response.url).url == StripeCheckout.objects.get(attempt=2).url
    assert len(fake_stripe.sessions) == 1


# -- The return page ------------------------------------------------------------------


def test_the_return_page_shows_a_paid_order_and_receives_the_payment_once(
    login, member, checkout, fake_stripe
):
    payment = checkout.payment
    fake_stripe.pay(checkout.session_id)
    shopper = login(member)

    page = _back_from_stripe(shopper, payment, session_id=checkout.session_id)
    shopper.get(_return_url(payment, session_id=checkout.session_id))
    run_jobs()

    assert "Paiement reçu, merci !" in _text(page)
    payment.refresh_from_db()
    assert payment.status == "received" and payment.received_by is None
    assert _postings(payment) == 1
    assert client_account(member).held == Decimal("0.00")


def test_the_return_page_says_a_delayed_payment_is_still_processing(
    login, member, checkout, fake_stripe
):
    fake_stripe.pay(checkout.session_id, later=True)

    page = _back_from_stripe(login(member), checkout.payment, session_id=checkout.session_id)

    assert 'data-status="processing"' in page.content.decode()
    assert "Paiement en cours de traitement" in _text(page)
    checkout.refresh_from_db()
    assert checkout.status == "processing" and checkout.payment.status == "pending"
    assert "Choisir un autre moyen" not in _text(page)


def test_the_return_page_says_a_refused_payment_failed_and_offers_to_retry(
    login, member, checkout, fake_stripe
):
    fake_stripe.pay(checkout.session_id, later=True)
    fake_stripe.settle_later_payment(checkout.session_id, succeeded=False)

    page = _back_from_stripe(login(member), checkout.payment)

    assert "Le paiement a été refusé" in _text(page)
    assert "Réessayer le paiement en ligne" in _text(page)
    assert "Choisir un autre moyen de paiement" in _text(page)
    checkout.payment.refresh_from_db()
    assert checkout.payment.status == "cancelled"


def test_a_client_back_without_paying_sees_it_and_can_pay_the_same_session(
    login, member, checkout, fake_stripe
):
    shopper = login(member)

    page = _back_from_stripe(shopper, checkout.payment)
    response = shopper.post(
        _url("online_payment_pay", checkout.payment.market, payment_id=checkout.payment.pk)
    )
    run_jobs()

    assert "Le paiement n'a pas été effectué" in _text(page)
    assert "Payer en ligne" in _text(page)
    assert shopper.get(response.url).url == checkout.url  # still open: no second one
    assert len(fake_stripe.sessions) == 1


def test_nobody_else_sees_or_pays_a_clients_online_payment(
    login, checkout, online_market, fake_stripe
):
    other = login(MembershipFactory(market=online_market))
    payment = checkout.payment

    assert other.get(_return_url(payment)).status_code == 404
    assert other.get(_wait_url(payment)).status_code == 404
    for name in ("online_payment_pay", "online_payment_change"):
        response = other.post(_url(name, online_market, payment_id=payment.pk), {"choice": "cash"})
        assert response.status_code == 404
    assert len(fake_stripe.requests) == 1  # the session's creation only


# -- Paying again, or another way ---------------------------------------------------------


def test_after_an_expired_session_the_client_pays_online_again_with_a_new_session(
    login, member, checkout, fake_stripe
):
    fake_stripe.expire(checkout.session_id)
    shopper = login(member)
    old = checkout.payment

    page = _back_from_stripe(shopper, old)
    response = shopper.post(_url("online_payment_pay", old.market, payment_id=old.pk))
    run_jobs()

    assert "Le paiement n'a pas été effectué" in _text(page)
    old.refresh_from_db()
    new = online_payment(old.order)
    assert old.status == "cancelled" and new.amount == old.amount
    assert shopper.get(response.url).url == StripeCheckout.objects.get(payment=new).url
    assert PaymentRechoice.objects.get(replaced=old).payment == new


def test_choosing_another_method_closes_the_session_and_expects_the_new_one(
    login, member, checkout, fake_stripe
):
    shopper = login(member)
    old = checkout.payment
    change = _url("online_payment_change", old.market, payment_id=old.pk)
    page = shopper.get(change)
    data = {"choice": "cash", "form_token": _form_token(page)}

    response = shopper.post(change, data)
    shopper.post(change, data)  # sent twice
    assert len(queued("checkout_expire")) == 1
    run_jobs()

    assert response.url == _url("order_detail", old.market, order_id=old.order_id)
    assert fake_stripe.sessions[checkout.session_id]["status"] == "expired"
    old.refresh_from_db()
    order = old.order
    order.refresh_from_db()
    assert old.status == "cancelled"
    new = order.payments.get(status=PaymentStatus.PENDING)
    assert (new.method, new.amount, new.reference) == ("cash", Decimal("13.60"), order.reference)
    assert order.payment_method == "cash"
    assert order.payments.count() == 2
    assert client_account(member).held == Decimal("-13.60")  # still owed, now in cash


def test_a_session_paid_just_before_changing_method_is_kept(login, member, checkout, fake_stripe):
    fake_stripe.pay(checkout.session_id)
    shopper = login(member)
    old = checkout.payment
    change = _url("online_payment_change", old.market, payment_id=old.pk)

    response = shopper.post(change, {"choice": "cash", "form_token": uuid.uuid4().hex})
    run_jobs()  # the session's closing finds it paid: the money is received all the same

    assert response.status_code == 302
    old.refresh_from_db()
    assert old.status == "cancelled"
    (received,) = old.order.payments.filter(status=PaymentStatus.RECEIVED)
    assert (received.method, received.amount) == ("online_card", Decimal("13.60"))
    checkout.refresh_from_db()
    assert checkout.status == "paid" and checkout.received_payment == received
    assert client_account(member).held == Decimal("0.00")  # the cash one is no longer owed


def test_the_order_page_offers_to_pay_again_after_an_expired_session(
    login, member, checkout, fake_stripe, deliver
):
    fake_stripe.expire(checkout.session_id)
    deliver(fake_stripe.session_event("checkout.session.expired", checkout.session_id))

    page = login(member).get(
        _url("order_detail", checkout.payment.market, order_id=checkout.payment.order_id)
    )

    assert "n'a pas abouti" in _text(page)
    assert "Réessayer le paiement en ligne" in _text(page)
    assert "Choisir un autre moyen de paiement" in _text(page)


# -- Reconciliation ---------------------------------------------------------------------------


def _age(checkout, minutes):
    StripeCheckout.objects.filter(pk=checkout.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )


def _reconcile(*args) -> str:
    out = StringIO()
    call_command("stripe_reconcile", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_reconcile_settles_a_paid_session_whose_webhook_never_came(checkout, fake_stripe):
    fake_stripe.pay(checkout.session_id)
    _age(checkout, 31)

    output = _reconcile()
    _reconcile()

    payment = Payment.objects.get(pk=checkout.payment_id)
    assert payment.status == "received"
    assert _postings(payment) == 1
    assert "1 session(s) checked" in output and "paid: 1" in output


def test_reconcile_leaves_recent_sessions_to_their_webhook(checkout, fake_stripe):
    fake_stripe.pay(checkout.session_id)
    _age(checkout, 10)

    _reconcile("--minutes", "30")

    assert Payment.objects.get(pk=checkout.payment_id).status == "pending"
    assert fake_stripe.calls("GET", f"/v1/checkout/sessions/{checkout.session_id}") == []


def test_reconcile_cancels_an_expired_session_and_keeps_an_open_one(
    online_market, distribution, honey, checkout, fake_stripe
):
    neighbour = MembershipFactory(market=online_market)
    other = open_session(online_payment(order_online(neighbour, distribution, honey, "1")))
    fake_stripe.expire(checkout.session_id)
    _age(checkout, 60 * 25)
    _age(other, 45)

    _reconcile("--minutes", "30")

    checkout.refresh_from_db()
    other.refresh_from_db()
    assert checkout.status == CheckoutStatus.EXPIRED and checkout.payment.status == "cancelled"
    assert other.status == CheckoutStatus.OPEN and other.payment.status == "pending"


def test_the_ledger_is_clean_after_paying_online(checkout, fake_stripe):
    fake_stripe.pay(checkout.session_id)
    _age(checkout, 31)
    _reconcile()

    call_command("check_ledger", stdout=StringIO())
