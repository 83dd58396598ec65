"""A client pays a basket by card online: sent to the (fake) Stripe page, back
to the market, and the order shows paid once Stripe's signed webhook arrives.

Stripe is called by jobs: a real worker runs them, pointed at the fake Stripe.
"""

import datetime
import re
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.urls import reverse
from playwright.sync_api import expect

from distributions.models import Distribution
from orders.models import Order, Product, Unit
from orders.services import basket_read, order_checkout
from payments.models import Payment, StripeCheckout, Transaction
from payments.stripe.opening import checkout_request
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.stripe_fake import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    fake_stripe_fixture,  # noqa: F401  (the `fake_stripe` fixture)
)
from tests.workers import wait_for_jobs, wait_until

NBSP = "\u00a0"


@pytest.fixture
def online_market(market, fake_stripe):
    market.payment_methods = ["cheque", "cash", "online_card"]
    market.save()
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    ProductFactory(producer=farm, name="Carottes", unit=Unit.KG, unit_price=Decimal("2.80"))
    DistributionFactory(market=market, date=datetime.date(2026, 12, 4), place="La Halle")
    return market


@pytest.fixture(autouse=True)
def stripe_worker(start_worker, fake_stripe):
    """The job worker, calling the fake Stripe (none of other tests' jobs left)."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs CASCADE")
    return start_worker(
        STRIPE_API_BASE=fake_stripe.url,
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )


def _soon(condition, what: str) -> None:
    """Wait for something the worker does at the fake Stripe."""
    deadline = time.monotonic() + 15
    while not condition():
        assert time.monotonic() < deadline, f"Not within 15 s: {what}"
        time.sleep(0.1)


def _order_and_choose_online_card(page):
    page.locator("#nav").get_by_role("link", name="Commander").click()
    page.get_by_role("link", name=re.compile("Distribution du vendredi 4 décembre 2026")).click()
    page.get_by_label("Quantité de Carottes").fill("2")
    page.get_by_role("button", name="Voir mon panier").click()
    page.get_by_role("link", name="Choisir mon paiement").click()
    page.get_by_label("Carte bancaire en ligne").check()
    page.get_by_role("button", name="Valider ma commande").click()


def _postings() -> int:
    return Transaction.objects.filter(kind="payment").count()


def test_a_client_pays_by_card_online_and_sees_the_order_paid(
    page,
    log_in,
    member,
    online_market,
    fake_stripe,
    live_server,
):
    log_in(member)
    _order_and_choose_online_card(page)

    # On Stripe's (fake) page, for the basket's amount.
    expect(page).to_have_url(re.compile(rf"^{re.escape(fake_stripe.url)}/pay/cs_test_"))
    expect(page.locator("#amount")).to_have_text("5,60 €")
    payment = Payment.objects.get()
    assert payment.status == "pending"
    page.get_by_role("button", name="Payer", exact=True).click()

    # Back on the market: Stripe says it is paid.
    expect(page.get_by_role("heading", name="Paiement en ligne")).to_be_visible()
    expect(page.locator("#online-status")).to_contain_text("Paiement reçu, merci !")

    # Stripe's webhook arrives too (it always does, maybe more than once): one posting.
    session_id = payment.stripe_checkouts.get().session_id
    event = fake_stripe.session_event("checkout.session.completed", session_id)
    webhook = f"{live_server.url}/stripe/webhook/"
    assert fake_stripe.deliver(webhook, event) == 200
    assert fake_stripe.deliver(webhook, event) == 200
    wait_for_jobs()  # the worker applies the stored event
    assert _postings() == 1

    page.get_by_role("link", name="Voir ma commande").click()
    payments = page.locator("#order-payments li")
    expect(payments).to_have_count(1)
    expect(payments.first).to_contain_text("Carte bancaire en ligne")
    expect(payments.first).to_contain_text("Reçu")
    expect(page.locator("#order-total")).to_have_text(f"5,60{NBSP}€")


def test_a_delayed_card_payment_shows_paid_once_the_signed_webhook_is_delivered(
    page,
    log_in,
    member,
    online_market,
    fake_stripe,
    live_server,
):
    log_in(member)
    _order_and_choose_online_card(page)
    page.get_by_role("button", name="Payer par prélèvement").click()

    expect(page.locator("#online-status")).to_contain_text("Paiement en cours de traitement")
    order = Order.objects.get()
    payment = order.payments.get()
    assert payment.status == "pending" and _postings() == 0

    # The bank confirms; Stripe tells the market with a signed webhook.
    session_id = payment.stripe_checkouts.get().session_id
    fake_stripe.settle_later_payment(session_id)
    event = fake_stripe.session_event("checkout.session.async_payment_succeeded", session_id)
    assert fake_stripe.deliver(f"{live_server.url}/stripe/webhook/", event) == 200
    wait_for_jobs()  # the worker applies the stored event

    # The return page refreshes itself (every 5 seconds).
    expect(page.locator("#online-status")).to_contain_text("Paiement reçu, merci !", timeout=15_000)
    assert _postings() == 1
    page.get_by_role("link", name="Voir ma commande").click()
    expect(page.locator("#order-payments li").first).to_contain_text("Reçu")


def test_a_client_who_leaves_the_stripe_page_can_pay_another_way(
    page,
    log_in,
    member,
    online_market,
    fake_stripe,
):
    log_in(member)
    _order_and_choose_online_card(page)
    page.get_by_role("link", name="Retour au marché").click()

    expect(page.locator("#online-status")).to_contain_text("Le paiement n'a pas été effectué")
    page.get_by_role("link", name="Choisir un autre moyen de paiement").click()
    page.get_by_label("Espèces").check()
    page.get_by_role("button", name="Valider mon choix").click()

    expect(page.get_by_role("alert")).to_contain_text("Votre choix est enregistré.")
    payments = page.locator("#order-payments li")
    expect(payments).to_have_count(2)
    expect(payments.nth(0)).to_contain_text("Annulé")
    expect(payments.nth(1)).to_contain_text("Espèces")
    # The session is closed at Stripe by a job.
    _soon(
        lambda: [s["status"] for s in fake_stripe.sessions.values()] == ["expired"],
        "the session expired",
    )


def _paid_online(member, market, fake_stripe, webhook) -> Payment:
    """The client paid a basket online, and Stripe's webhook said so."""
    carrots = Product.objects.get(name="Carottes")
    order = order_checkout(
        membership=member,
        distribution=Distribution.objects.get(market=market),
        lines=basket_read(market, {carrots.pk: "2"}),
        choice="online_card",
        token="paid-online",
        notify=False,
    )
    payment = order.payments.get()
    back = "http://testserver/retour"
    with transaction.atomic():
        attempt = checkout_request(payment=payment, success_url=back, cancel_url=back)
    wait_until(
        lambda: StripeCheckout.objects.get(pk=attempt.pk).session_id, what="the session opened"
    )
    checkout = StripeCheckout.objects.get(pk=attempt.pk)
    fake_stripe.pay(checkout.session_id)
    event = fake_stripe.session_event("checkout.session.completed", checkout.session_id)
    assert fake_stripe.deliver(webhook, event) == 200
    wait_for_jobs()
    return payment


def test_an_admin_refunds_a_card_payment_and_sees_stripe_confirm_it(
    page,
    log_in,
    admin,
    member,
    online_market,
    fake_stripe,
    live_server,
):
    webhook = f"{live_server.url}/stripe/webhook/"
    payment = _paid_online(member, online_market, fake_stripe, webhook)
    fake_stripe.refund_status = "pending"  # the card's bank takes a few days
    log_in(admin)
    order = payment.order
    page.goto(reverse("day_basket", args=[online_market.slug, order.distribution_id, order.pk]))

    box = page.locator(f"#online-refund-{payment.pk}")
    box.get_by_label("Montant à rembourser").fill("2,00")
    box.get_by_role("button", name="Rembourser").click()

    expect(page.get_by_role("alert")).to_contain_text(f"Remboursement de 2,00{NBSP}€ demandé")
    # Asked of Stripe by a job: shown as awaited until Stripe has answered it.
    expect(box.locator("li")).to_contain_text(
        re.compile("en attente de Stripe|demandé, en attente de confirmation")
    )

    # Stripe takes the refund, then the bank confirms it: two signed webhooks.
    (session_id,) = fake_stripe.sessions
    _soon(lambda: len(fake_stripe.refunds) == 1, "the refund made at Stripe")
    (refund_id,) = fake_stripe.refunds
    _soon(
        lambda: payment.stripe_checkouts.get().refund_requests.get().refund_id == refund_id,
        "Stripe's answer recorded",
    )
    assert fake_stripe.deliver(webhook, fake_stripe.refunded_event(session_id)) == 200
    wait_for_jobs()
    fake_stripe.refund_ends(refund_id, "succeeded")
    assert fake_stripe.deliver(webhook, fake_stripe.refund_event(refund_id)) == 200
    wait_for_jobs()
    page.reload()

    expect(box.locator("li")).to_contain_text("Effectué")
    expect(box).to_contain_text(f"remboursé (confirmé par Stripe) : 2,00{NBSP}€")
