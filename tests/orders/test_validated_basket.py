"""A basket the market validated while orders are still open: the client is told,
and the shop no longer offers to add to it."""

import html
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from distributions.day.pickup import basket_validate
from orders.models import Unit
from orders.services import basket_read, order_checkout
from payments.services import payment_receive
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

pytestmark = pytest.mark.django_db

VALIDATED = "Le marché a validé votre panier le"


@pytest.fixture
def carrots(market):
    market.payment_methods = ["cash"]
    market.save()
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    return ProductFactory(producer=farm, name="Carottes", unit=Unit.KG, unit_price=Decimal("2.80"))


@pytest.fixture
def order(market, member, admin, carrots):
    """The client's basket, paid in cash and validated while orders are open."""
    order = order_checkout(
        membership=member,
        distribution=DistributionFactory(market=market),
        lines=basket_read(market, {carrots.pk: "2"}),
        choice="cash",
        token=uuid.uuid4().hex,
        notify=False,
    )
    payment_receive(payment=order.payments.get(), received_by=admin.user)
    basket_validate(order=order, validated_by=admin.user)
    order.refresh_from_db()
    assert order.distribution.is_open_for_orders()
    return order


def _text(response) -> str:
    return html.unescape(response.content.decode()).replace("\xa0", " ")


def _shop_url(order):
    return reverse("distribution_shop", args=[order.market.slug, order.distribution_id])


def test_the_order_page_says_the_basket_is_validated_and_offers_no_addition(login, member, order):
    page = login(member).get(reverse("order_detail", args=[order.market.slug, order.pk]))

    text = _text(page)
    assert VALIDATED in text
    assert not page.context["can_add"]
    assert "Ajouter des produits" not in text


def test_the_shop_says_so_instead_of_offering_to_add_products(login, member, order):
    page = login(member).get(_shop_url(order))

    text = _text(page)
    assert VALIDATED in text
    assert "Vous pouvez ajouter des produits" not in text
    assert 'name="qty-' not in text


def test_a_basket_sent_to_the_shop_anyway_is_refused_in_french(login, member, order, carrots):
    response = login(member).post(_shop_url(order), {f"qty-{carrots.pk}": "3"})

    assert response.status_code == 400
    assert "Ce panier est déjà validé : il ne peut plus être modifié." in _text(response)
    assert order.lines.get().quantity == Decimal("2")


def test_the_distribution_list_shows_the_basket_as_validated(login, member, order):
    page = login(member).get(reverse("shop_distribution_list", args=[order.market.slug]))

    assert f"Panier n° {order.number} validé" in _text(page)
