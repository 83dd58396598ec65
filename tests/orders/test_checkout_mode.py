"""An order keeps the payment mode it was taken under (cagnotte mode, a choice, none)."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from accounts.models import OutgoingEmail
from orders.emails import order_recap_queue
from orders.models import CheckoutMode, Order
from tests.factories import MarketFactory, MembershipFactory
from tests.factories_catalog import DistributionFactory
from tests.orders import test_checkout_views as checkout
from tests.orders.test_checkout_views import fill_basket, place_order, shop_url, text, url

# The checkout pages' fixtures: a market asking for a payment, a product, a distribution.
market, carrots = checkout.market, checkout.carrots
distribution, shopper = checkout.distribution, checkout.shopper

fill_migration = importlib.import_module("orders.migrations.0007_order_checkout_mode")


@pytest.fixture
def cagnotte_market(market):
    market.cagnotte_mode = True
    market.save()
    return market


def _mode_turned_off(market):
    market.cagnotte_mode = False
    market.save()


def test_in_cagnotte_mode_the_review_page_does_not_ask_to_choose_a_payment(
    shopper, cagnotte_market, distribution, carrots
):
    fill_basket(shopper, distribution, {carrots: "2"})

    content = text(shopper.get(shop_url(distribution, "basket_review")))

    assert "Choisir mon paiement" not in content
    assert "une fois le paiement choisi" not in content
    assert "Continuer vers la validation" in content
    assert "Valider ma commande" in content  # the third step's name


@pytest.mark.parametrize(
    "cagnotte_mode, third_step", [(False, "Choisir mon paiement"), (True, "Valider ma commande")]
)
def test_the_shop_names_the_third_step_for_the_market_s_mode(
    shopper, market, distribution, carrots, cagnotte_mode, third_step
):
    market.cagnotte_mode = cagnotte_mode
    market.save()

    content = text(shopper.get(shop_url(distribution)))

    assert f"3. {third_step}" in content


def test_when_a_payment_is_asked_the_review_page_still_leads_to_the_payment_choice(
    shopper, market, distribution, carrots
):
    fill_basket(shopper, distribution, {carrots: "2"})

    content = text(shopper.get(shop_url(distribution, "basket_review")))

    assert "Choisir mon paiement" in content
    assert "une fois le paiement choisi" in content


def test_an_order_taken_in_cagnotte_mode_records_that_mode(
    shopper, cagnotte_market, distribution, carrots
):
    order = place_order(shopper, distribution, None, {carrots: "2"})

    assert order.checkout_mode == CheckoutMode.CAGNOTTE_MODE


def test_an_order_taken_in_cagnotte_mode_still_reads_so_once_the_mode_is_off(
    shopper, cagnotte_market, distribution, carrots
):
    order = place_order(shopper, distribution, None, {carrots: "2"})
    _mode_turned_off(cagnotte_market)

    content = text(shopper.get(url("order_detail", cagnotte_market, order_id=order.pk)))

    assert "Payé avec votre cagnotte" not in content
    assert "Ce marché fonctionne avec une cagnotte" in content


def test_my_orders_names_the_market_s_cagnotte_for_an_order_taken_in_that_mode(
    shopper, cagnotte_market, distribution, carrots
):
    place_order(shopper, distribution, None, {carrots: "2"})
    _mode_turned_off(cagnotte_market)

    content = text(shopper.get(url("my_orders", cagnotte_market)))

    assert "Cagnotte du marché" in content
    assert "Cagnotte (payé avec mon solde)" not in content


def test_the_recap_email_of_an_order_taken_in_cagnotte_mode_reads_the_stored_mode(
    shopper, cagnotte_market, distribution, carrots
):
    order = place_order(shopper, distribution, None, {carrots: "2"})
    _mode_turned_off(cagnotte_market)
    OutgoingEmail.objects.all().delete()  # rendered again, after the change

    email = order_recap_queue(order.pk, choice="", amount=order.total)

    assert "Ce marché fonctionne avec une cagnotte" in email.body


def test_the_basket_page_names_the_market_s_cagnotte_for_an_order_taken_in_that_mode(
    login, admin, shopper, cagnotte_market, distribution, carrots
):
    order = place_order(shopper, distribution, None, {carrots: "2"})
    _mode_turned_off(cagnotte_market)
    path = reverse("day_basket", args=[cagnotte_market.slug, distribution.pk, order.pk])

    content = text(login(admin).get(path))

    assert "cagnotte du marché" in content
    assert "Mode cagnotte : aucun paiement n'est attendu" in content


def test_the_migration_fills_the_mode_of_existing_orders_from_what_they_show(db):
    chosen, in_cagnotte, unmanaged = (
        _old_order(cagnotte_mode=False, method="cheque"),
        _old_order(cagnotte_mode=True, method=""),
        _old_order(cagnotte_mode=False, method=""),
    )

    fill_migration.fill_checkout_mode(apps, None)

    modes = dict(Order.objects.values_list("pk", "checkout_mode"))
    assert modes[chosen.pk] == CheckoutMode.CHOICE
    assert modes[in_cagnotte.pk] == CheckoutMode.CAGNOTTE_MODE
    assert modes[unmanaged.pk] == CheckoutMode.UNMANAGED


def _old_order(*, cagnotte_mode: bool, method: str) -> Order:
    other = MarketFactory(cagnotte_mode=cagnotte_mode)
    return Order.objects.create(
        market=other,
        distribution=DistributionFactory(market=other),
        membership=MembershipFactory(market=other),
        number=1,
        payment_method=method,
    )
