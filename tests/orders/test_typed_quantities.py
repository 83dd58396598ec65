"""A number typed to hurt the server (``1e999999999``, 5 000 digits) gets a short refusal."""

import html
import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from distributions.models import DistributionStatus
from orders.models import Unit
from orders.services import basket_read, order_checkout
from payments.models import Transaction, TransactionKind
from tests.factories import PASSWORD
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

HURTFUL = ["1e999999999", "9" * 5000]
ANSWER_WITHIN = 10  # seconds: generous; the fault took minutes and gigabytes
PAGE_AT_MOST = 200_000  # bytes
EDIT_MESSAGES = [
    "n'est pas une quantité valable",
    "Assurez-vous que cette valeur comporte au plus 12 caractères",
    "Saisissez un montant en euros",
    "Le montant ne peut pas dépasser",
]


@pytest.fixture
def carrots(market):
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    return ProductFactory(producer=farm, name="Carottes", unit=Unit.KG, unit_price=Decimal("2.80"))


def _post_in_time(membership, url, data):
    """POST as ``membership``; fail if no answer comes back in ANSWER_WITHIN seconds."""
    answers = []

    def post():
        try:
            browser = Client()
            assert browser.login(username=membership.user.email, password=PASSWORD)
            answers.append(browser.post(url, data))
        finally:
            connections.close_all()

    worker = threading.Thread(target=post, daemon=True)
    worker.start()
    worker.join(timeout=ANSWER_WITHIN)
    assert not worker.is_alive(), "no answer in time"
    (response,) = answers
    return response


def _page(response) -> str:
    return html.unescape(response.content.decode())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("typed", HURTFUL, ids=["exponent", "5000 digits"])
def test_a_hurtful_quantity_in_the_shop_gets_a_short_french_refusal(market, member, carrots, typed):
    distribution = DistributionFactory(market=market)
    url = reverse("distribution_shop", args=[market.slug, distribution.pk])

    response = _post_in_time(member, url, {f"qty-{carrots.pk}": typed})

    assert response.status_code == 400
    assert len(response.content) < PAGE_AT_MOST
    page = _page(response)
    assert "Carottes" in page and ("valable" in page or "999 au plus" in page)
    assert "9" * 100 not in page


@pytest.fixture
def order(market, member, carrots):
    market.payment_methods = ["cheque"]
    market.save()
    distribution = DistributionFactory(market=market)
    lines = basket_read(market, {carrots.pk: "2"})
    placed = order_checkout(
        membership=member, distribution=distribution, lines=lines, choice="cheque", token="t1"
    )
    distribution.status = DistributionStatus.CLOSED
    distribution.save()
    return placed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("field", ["qty", "price", "add_quantity"])
@pytest.mark.parametrize("typed", HURTFUL, ids=["exponent", "5000 digits"])
def test_a_hurtful_number_in_the_order_edit_form_gets_a_short_french_refusal(
    admin, order, carrots, typed, field
):
    data = {
        f"qty-{carrots.pk}": "2",
        f"price-{carrots.pk}": "2,80",
        "add_product": "",
        "add_quantity": "",
        "reason": "Carottes pesées",
        "form_token": "a" * 32,
    }
    if field == "add_quantity":
        data["add_product"] = ProductFactory(producer=carrots.producer, name="Poireaux").pk
        data["add_quantity"] = typed
    else:
        data[f"{field}-{carrots.pk}"] = typed
    url = reverse("order_edit", args=[order.market.slug, order.pk])

    response = _post_in_time(admin, url, data)

    assert response.status_code == 400
    assert len(response.content) < PAGE_AT_MOST
    page = _page(response)
    assert any(message in page for message in EDIT_MESSAGES)
    assert "9" * 100 not in page
    assert not Transaction.objects.filter(kind=TransactionKind.ORDER_ADJUSTMENT).exists()
