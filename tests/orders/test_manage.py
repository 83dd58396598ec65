"""« Gestion »: the market admin manages producers and products."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from orders.forms import ProducerForm
from orders.models import Order, OrderLine, Producer, Product, Unit
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory


def _url(name, market, **kwargs):
    return reverse(name, kwargs={"market_slug": market.slug, **kwargs})


def _messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def _producer_data(**overrides):
    data = {
        "name": "Ferme des Quatre Saisons",
        "description": "Légumes bio de Seine-et-Marne",
        "email": "contact@quatre-saisons.fr",
        "active": "on",
    }
    data.update(overrides)
    return data


def _product_data(producer, **overrides):
    data = {
        "producer": str(producer.pk),
        "name": "Carottes",
        "unit": Unit.KG,
        "unit_price": "2,80",
        "active": "on",
    }
    data.update(overrides)
    return data


@pytest.fixture
def producer(market):
    return ProducerFactory(market=market, name="Ferme du Bois")


@pytest.fixture
def product(producer):
    return ProductFactory(producer=producer, name="Poireaux", unit_price=Decimal("3.20"))


# Producers


def test_an_admin_adds_a_producer(login, market, admin):
    response = login(admin).post(_url("producer_create", market), _producer_data())
    assert response.status_code == 302
    assert response.url == _url("producer_list", market)
    producer = Producer.objects.get()
    assert (producer.market, producer.name, producer.active) == (
        market,
        "Ferme des Quatre Saisons",
        True,
    )
    assert _messages(response) == ["Producteur « Ferme des Quatre Saisons » ajouté."]


def test_an_admin_deactivates_a_producer_instead_of_deleting_it(login, market, admin, producer):
    data = _producer_data(name="Ferme du Bois")
    del data["active"]
    response = login(admin).post(_url("producer_edit", market, pk=producer.pk), data)
    assert response.status_code == 302
    producer.refresh_from_db()
    assert producer.active is False
    assert producer.description == "Légumes bio de Seine-et-Marne"


def test_a_producer_name_already_used_in_the_market_is_refused_in_french(
    login, market, admin, producer
):
    response = login(admin).post(
        _url("producer_create", market), _producer_data(name="ferme du bois")
    )
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == [
        "Un producteur porte déjà ce nom dans ce marché."
    ]
    assert Producer.objects.count() == 1


def test_renaming_a_producer_to_another_producers_name_is_refused(login, market, admin, producer):
    other = ProducerFactory(market=market, name="Les Ruches de Lise")
    data = _producer_data(name="Ferme du Bois")
    response = login(admin).post(_url("producer_edit", market, pk=other.pk), data)
    assert response.status_code == 400
    other.refresh_from_db()
    assert other.name == "Les Ruches de Lise"


def test_saving_a_producer_under_its_own_name_is_fine(login, market, admin, producer):
    data = _producer_data(name="Ferme du Bois", description="Fromages de chèvre")
    response = login(admin).post(_url("producer_edit", market, pk=producer.pk), data)
    assert response.status_code == 302
    producer.refresh_from_db()
    assert producer.description == "Fromages de chèvre"


def test_another_market_may_have_a_producer_of_the_same_name(login, market, admin, other_market):
    ProducerFactory(market=other_market, name="Ferme des Quatre Saisons")
    response = login(admin).post(_url("producer_create", market), _producer_data())
    assert response.status_code == 302
    assert Producer.objects.filter(name="Ferme des Quatre Saisons").count() == 2


def test_a_duplicate_saved_meanwhile_shows_the_french_error_not_a_500(
    login, market, admin, producer, monkeypatch
):
    # As if another admin saved the same name between the form's check and the write.
    monkeypatch.setattr(ProducerForm, "clean_name", lambda form: form.cleaned_data["name"])
    response = login(admin).post(
        _url("producer_create", market), _producer_data(name="Ferme du Bois")
    )
    assert response.status_code == 400
    assert (
        "Un producteur porte déjà ce nom dans ce marché." in response.context["form"].errors["name"]
    )
    assert Producer.objects.count() == 1


def test_the_producer_list_shows_each_producers_number_of_products(
    login, market, admin, producer, product
):
    ProductFactory(producer=producer, name="Radis")
    ProducerFactory(market=market, name="Les Ruches de Lise", active=False)
    response = login(admin).get(_url("producer_list", market))
    counts = {p.name: p.product_count for p in response.context["producers"]}
    assert counts == {"Ferme du Bois": 2, "Les Ruches de Lise": 0}
    assert "Inactif" in response.content.decode()


def test_a_producer_of_another_market_is_not_found(login, market, admin, other_market):
    stranger = ProducerFactory(market=other_market, name="Ferme des Lilas")
    url = _url("producer_edit", market, pk=stranger.pk)
    browser = login(admin)
    assert browser.get(url).status_code == 404
    assert browser.post(url, _producer_data()).status_code == 404
    stranger.refresh_from_db()
    assert stranger.name == "Ferme des Lilas"


# Products


def test_an_admin_adds_a_product_with_a_french_price(login, market, admin, producer):
    response = login(admin).post(_url("product_create", market), _product_data(producer))
    assert response.status_code == 302
    assert response.url == _url("product_list", market)
    product = Product.objects.get()
    assert (product.market, product.producer, product.name, product.unit) == (
        market,
        producer,
        "Carottes",
        Unit.KG,
    )
    assert product.unit_price == Decimal("2.80")
    assert _messages(response) == ["Produit « Carottes » ajouté."]


def test_an_admin_changes_a_products_price_and_takes_it_off_sale(
    login, market, admin, producer, product
):
    data = _product_data(producer, name="Poireaux", unit_price="3,50")
    del data["active"]
    response = login(admin).post(_url("product_edit", market, pk=product.pk), data)
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.unit_price, product.active) == (Decimal("3.50"), False)


def test_changing_a_price_leaves_existing_order_lines_at_their_price(
    login, market, admin, member, producer, product
):
    order = Order.objects.create(
        market=market,
        distribution=DistributionFactory(market=market),
        membership=member,
        number=1,
        total=Decimal("6.40"),
    )
    line = OrderLine.objects.create(
        order=order, product=product, quantity=Decimal("2"), unit_price=Decimal("3.20")
    )
    data = _product_data(producer, name="Poireaux", unit_price="4,00")
    login(admin).post(_url("product_edit", market, pk=product.pk), data)
    line.refresh_from_db()
    order.refresh_from_db()
    assert (line.unit_price, order.total) == (Decimal("3.20"), Decimal("6.40"))


def test_the_price_form_says_existing_orders_keep_their_price(login, market, admin, producer):
    response = login(admin).get(_url("product_create", market))
    assert "ne modifie pas les commandes déjà passées" in response.content.decode()


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("-1", "Le montant doit être positif."),
        ("0", "Le montant ne peut pas être nul."),
        ("abc", "Saisissez un montant en euros, par exemple 12,50."),
        ("1,234", "Le montant ne peut pas avoir plus de 2 décimales."),
        ("100000,01", "Le montant ne peut pas dépasser 100\u00a0000,00\u00a0€."),
        ("", "Ce champ est obligatoire."),
    ],
)
def test_a_wrong_price_is_refused_in_french_and_nothing_is_saved(
    login, market, admin, producer, price, message
):
    data = _product_data(producer, unit_price=price)
    response = login(admin).post(_url("product_create", market), data)
    assert response.status_code == 400
    assert response.context["form"].errors["unit_price"] == [message]
    assert not Product.objects.exists()


def test_the_highest_price_allowed_is_100_000_euros(login, market, admin, producer):
    data = _product_data(producer, unit_price="100 000,00")
    assert login(admin).post(_url("product_create", market), data).status_code == 302
    assert Product.objects.get().unit_price == Decimal("100000.00")


def test_a_producer_of_another_market_cannot_be_forged_into_a_product(
    login, market, admin, producer, other_market
):
    stranger = ProducerFactory(market=other_market, name="Ferme des Lilas")
    response = login(admin).post(_url("product_create", market), _product_data(stranger))
    assert response.status_code == 400
    assert response.context["form"].errors["producer"] == ["Choisissez un producteur de ce marché."]
    assert not Product.objects.exists()


def test_the_producer_choices_are_this_markets_producers_only(
    login, market, admin, producer, other_market
):
    ProducerFactory(market=other_market, name="Ferme des Lilas")
    ProducerFactory(market=market, name="Les Ruches de Lise", active=False)
    response = login(admin).get(_url("product_create", market))
    labels = [label for _, label in response.context["form"].fields["producer"].choices][1:]
    assert labels == ["Ferme du Bois", "Les Ruches de Lise (inactif)"]


def test_a_new_product_from_a_producers_list_has_that_producer_chosen(
    login, market, admin, producer
):
    url = _url("product_create", market) + f"?producteur={producer.pk}"
    response = login(admin).get(url)
    assert response.context["form"].initial["producer"] == producer


def test_the_product_list_shows_prices_in_euros_grouped_by_producer(
    login, market, admin, producer, product
):
    other = ProducerFactory(market=market, name="Les Ruches de Lise")
    ProductFactory(
        producer=other, name="Miel de tilleul", unit=Unit.PIECE, unit_price=Decimal("8.50")
    )
    content = login(admin).get(_url("product_list", market)).content.decode()
    assert "3,20\u00a0€" in content
    assert "8,50\u00a0€" in content
    assert content.index("Ferme du Bois") < content.index("Les Ruches de Lise")


def test_the_product_list_filters_by_producer(login, market, admin, producer, product):
    other = ProducerFactory(market=market, name="Les Ruches de Lise")
    ProductFactory(producer=other, name="Miel de tilleul")
    response = login(admin).get(_url("product_list", market) + f"?producteur={other.pk}")
    assert [p.name for p in response.context["products"]] == ["Miel de tilleul"]


def test_filtering_by_another_markets_producer_shows_every_product_of_this_market(
    login, market, admin, product, other_market
):
    stranger = ProductFactory(producer=ProducerFactory(market=other_market))
    url = _url("product_list", market) + f"?producteur={stranger.producer.pk}"
    response = login(admin).get(url)
    assert [p.name for p in response.context["products"]] == ["Poireaux"]


def test_a_product_of_another_market_is_not_found(login, market, admin, producer, other_market):
    stranger = ProductFactory(producer=ProducerFactory(market=other_market), name="Miel")
    url = _url("product_edit", market, pk=stranger.pk)
    browser = login(admin)
    assert browser.get(url).status_code == 404
    assert browser.post(url, _product_data(producer)).status_code == 404
    stranger.refresh_from_db()
    assert stranger.name == "Miel"


# Access


@pytest.fixture
def pages(market, product):
    return [
        _url("producer_list", market),
        _url("producer_create", market),
        _url("producer_edit", market, pk=product.producer.pk),
        _url("product_list", market),
        _url("product_create", market),
        _url("product_edit", market, pk=product.pk),
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(client, pages):
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


def test_an_admin_opens_every_management_page(login, admin, pages):
    browser = login(admin)
    for url in pages:
        assert browser.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["treasurer", "member"])
def test_treasurers_and_clients_are_forbidden(request, login, pages, role):
    browser = login(request.getfixturevalue(role))
    for url in pages:
        assert browser.get(url).status_code == 403, url


@pytest.mark.parametrize("role", ["treasurer", "member"])
def test_treasurers_and_clients_cannot_write(request, login, market, producer, role):
    browser = login(request.getfixturevalue(role))
    assert browser.post(_url("producer_create", market), _producer_data()).status_code == 403
    assert browser.post(_url("product_create", market), _product_data(producer)).status_code == 403
    assert Producer.objects.count() == 1
    assert not Product.objects.exists()


def test_an_admin_of_another_market_finds_nothing_here(login, pages, other_admin):
    browser = login(other_admin)
    for url in pages:
        assert browser.get(url).status_code == 404, url


def test_every_management_page_links_to_the_others(login, market, admin):
    content = login(admin).get(_url("producer_list", market)).content.decode()
    for name in ("producer_list", "product_list", "distribution_list"):
        assert f'href="{_url(name, market)}"' in content
