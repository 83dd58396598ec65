"""Online card payments: a market offering it, a fake Stripe, and an order to pay."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Unit
from orders.services import basket_read, order_checkout
from payments.models import PaymentMethod, PaymentStatus
from payments.stripe.opening import checkout_request
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.jobs import run_jobs
from tests.stripe_fake import fake_stripe_fixture  # noqa: F401  (the `fake_stripe` fixture)

SUCCESS_URL = "http://testserver/retour?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://testserver/retour"


@pytest.fixture
def online_market(market, fake_stripe):
    market.payment_methods = ["cheque", "cash", "transfer", "online_card", "cagnotte"]
    market.save()
    return market


@pytest.fixture
def honey(online_market):
    hives = ProducerFactory(market=online_market, name="Rucher des Lilas")
    return ProductFactory(producer=hives, name="Miel", unit=Unit.PIECE, unit_price=Decimal("6.80"))


@pytest.fixture
def distribution(online_market):
    return DistributionFactory(
        market=online_market, date=datetime.date(2026, 12, 4), place="La Halle"
    )


def order_online(membership, distribution, product, quantity="2"):
    """Check out ``quantity`` of ``product``, paid online; the order."""
    lines = basket_read(membership.market, {product.pk: quantity})
    return order_checkout(
        membership=membership,
        distribution=distribution,
        lines=lines,
        choice="online_card",
        token=uuid.uuid4().hex,
        notify=False,
    )


def online_payment(order):
    return order.payments.get(method=PaymentMethod.ONLINE_CARD, status=PaymentStatus.PENDING)


def open_session(payment):
    """The client asks to pay online, and the job opens the session; the attempt."""
    checkout = checkout_request(payment=payment, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    run_jobs()
    if checkout is not None:
        checkout.refresh_from_db()
    return checkout


@pytest.fixture
def checkout(member, distribution, honey):
    """A pending online payment of 13,60 € with its open session at the fake Stripe."""
    return open_session(online_payment(order_online(member, distribution, honey)))


@pytest.fixture
def producers(online_market):
    """Two producers with a connected account, one without."""
    return {
        "hives": ProducerFactory(
            market=online_market, name="Rucher des Lilas", stripe_account_id="acct_1Hives"
        ),
        "farm": ProducerFactory(
            market=online_market, name="Ferme du Bois", stripe_account_id="acct_1Farm"
        ),
        "greens": ProducerFactory(market=online_market, name="Maraîcher Dupont"),
    }


@pytest.fixture
def basket(online_market, member, distribution, producers):
    """Honey 2 × 6,80 + eggs 3 × 3,35 + salad 1 × 1,20 = 24,85 €, paid online."""
    products = {
        ProductFactory(
            producer=producers["hives"], name="Miel", unit=Unit.PIECE, unit_price=Decimal("6.80")
        ): "2",
        ProductFactory(
            producer=producers["farm"], name="Œufs", unit=Unit.PIECE, unit_price=Decimal("3.35")
        ): "3",
        ProductFactory(
            producer=producers["greens"], name="Salade", unit=Unit.PIECE, unit_price=Decimal("1.20")
        ): "1",
    }
    lines = basket_read(online_market, {product.pk: qty for product, qty in products.items()})
    return order_checkout(
        membership=member,
        distribution=distribution,
        lines=lines,
        choice="online_card",
        token=uuid.uuid4().hex,
        notify=False,
    )


@pytest.fixture
def deliver(client, fake_stripe):
    """``deliver(event)``: Stripe posts the signed event to the webhook, and the jobs
    run (the event's, and any it defers); the response. ``deliver(event, run=False)``
    leaves the jobs queued; ``response.jobs`` tells how the jobs ran."""

    def _deliver(event, run=True, **signing):
        payload, signature = fake_stripe.signed(event, **signing)
        response = client.post(
            reverse("stripe_webhook"),
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
        response.jobs = run_jobs() if run else []
        return response

    return _deliver


@pytest.fixture
def pay(fake_stripe, deliver):
    """``pay(order)``: the client pays the order's pending online payment; its session
    (and the jobs the payment deferred, the producers' transfers, are run)."""

    def _pay(order):
        checkout = open_session(online_payment(order))
        fake_stripe.pay(checkout.session_id)
        event = fake_stripe.session_event("checkout.session.completed", checkout.session_id)
        assert deliver(event).status_code == 200
        run_jobs()
        checkout.refresh_from_db()
        return checkout

    return _pay
