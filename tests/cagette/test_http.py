"""Reloading a form's address after an error leads back to its page, never to a bare 405."""

from django.urls import reverse

from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory


def test_reloading_a_client_history_form_address_leads_to_the_history(login, treasurer, member):
    market = member.market
    browser = login(treasurer)
    for name in ("payment_create", "opening_balance_create"):
        response = browser.get(reverse(name, args=[market.slug, member.pk]))
        assert response.status_code == 302
        assert response.url == reverse("client_history", args=[market.slug, member.pk])


def test_reloading_a_basket_action_address_leads_to_the_basket(login, admin, member):
    from decimal import Decimal

    from orders.services import basket_read, order_checkout

    market = member.market
    market.payment_methods = ["cash"]
    market.save()
    distribution = DistributionFactory(market=market)
    bread = ProductFactory(producer=ProducerFactory(market=market), unit_price=Decimal("3.00"))
    order = order_checkout(
        membership=member,
        distribution=distribution,
        lines=basket_read(market, {bread.pk: "1"}),
        choice="cash",
        token="t" * 32,
        notify=False,
    )
    basket = reverse("day_basket", args=[market.slug, distribution.pk, order.pk])
    browser = login(admin)
    for name in ("day_payment_add", "day_refund", "day_basket_validate"):
        response = browser.get(reverse(name, args=[market.slug, distribution.pk, order.pk]))
        assert (response.status_code, response.url) == (302, basket)
    order.refresh_from_db()
    assert not order.is_validated


def test_another_method_than_post_or_get_is_still_not_allowed(login, treasurer, member):
    url = reverse("payment_create", args=[member.market.slug, member.pk])
    assert login(treasurer).delete(url).status_code == 405
