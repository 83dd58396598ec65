"""Stripe refuses Checkout totals under 0,50 €: « carte bancaire en ligne » is not
offered for less, the page says why, and nothing is recorded if it is asked anyway."""

import html
import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order, Unit
from orders.services import CheckoutError, basket_read, checkout_choices, order_checkout
from payments.models import Payment, Transaction
from tests.factories_catalog import ProducerFactory, ProductFactory

from .conftest import online_payment, order_online

MINIMUM_NOTE = "qu'à partir de 0,50"


@pytest.fixture
def mint(online_market):
    producer = ProducerFactory(market=online_market, name="Jardin")
    return ProductFactory(
        producer=producer, name="Menthe", unit=Unit.PIECE, unit_price=Decimal("0.40")
    )


def _url(name, market, **kwargs):
    return reverse(name, kwargs={"market_slug": market.slug, **kwargs})


def _text(response) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))
    return re.sub(r"\s+", " ", text.replace("\u00a0", " "))


def _payment_page(client, distribution, product, quantity="1"):
    shop = _url("distribution_shop", distribution.market, distribution_id=distribution.pk)
    client.post(shop, {f"qty-{product.pk}": quantity})
    return _url("checkout_payment", distribution.market, distribution_id=distribution.pk)


def test_online_card_is_not_offered_under_stripes_minimum_and_the_page_says_why(
    login, member, distribution, mint
):
    shopper = login(member)
    page = shopper.get(_payment_page(shopper, distribution, mint))

    assert page.status_code == 200
    assert 'value="online_card"' not in page.content.decode()
    assert 'value="cheque"' in page.content.decode()
    assert MINIMUM_NOTE in _text(page)


def test_online_card_is_offered_from_the_minimum_on(login, member, distribution, mint):
    shopper = login(member)
    page = shopper.get(_payment_page(shopper, distribution, mint, quantity="2"))  # 0,80 €

    assert 'value="online_card"' in page.content.decode()
    assert MINIMUM_NOTE not in _text(page)


def test_online_card_posted_anyway_under_the_minimum_records_nothing(
    login, member, distribution, mint, fake_stripe
):
    shopper = login(member)
    url = _payment_page(shopper, distribution, mint)
    token = re.search(r'name="form_token" value="(\w+)"', shopper.get(url).content.decode())[1]

    response = shopper.post(url, {"choice": "online_card", "form_token": token})

    assert response.status_code == 400
    assert not Order.objects.exists() and not Transaction.objects.exists()
    assert fake_stripe.calls("POST", "/v1/checkout/sessions") == []


def test_checking_out_online_under_the_minimum_is_refused_before_anything_is_written(
    member, distribution, mint
):
    lines = basket_read(member.market, {mint.pk: "1"})

    with pytest.raises(CheckoutError, match="0,50"):
        order_checkout(
            membership=member,
            distribution=distribution,
            lines=lines,
            choice="online_card",
            token=uuid.uuid4().hex,
            notify=False,
        )

    assert not Order.objects.exists() and not Transaction.objects.exists()


def test_the_minimum_counts_only_what_is_paid_online(online_market):
    assert "online_card" in checkout_choices(online_market, Decimal("0.50"))
    assert "online_card" not in checkout_choices(online_market, Decimal("0.49"))
    assert "online_card" in checkout_choices(online_market)


def test_choosing_another_method_for_a_payment_under_the_minimum_leaves_online_card_out(
    login, member, distribution, honey, fake_stripe
):
    payment = online_payment(order_online(member, distribution, honey, quantity="1"))
    Payment.objects.filter(pk=payment.pk).update(amount=Decimal("0.30"))  # lowered since
    shopper = login(member)

    page = shopper.get(_url("online_payment_change", member.market, payment_id=payment.pk))

    assert 'value="online_card"' not in page.content.decode()
    assert MINIMUM_NOTE in _text(page)
    response = shopper.post(_url("online_payment_pay", member.market, payment_id=payment.pk))
    assert response.status_code == 302
    assert fake_stripe.calls("POST", "/v1/checkout/sessions") == []
    assert MINIMUM_NOTE in _text(shopper.get(response.url))
