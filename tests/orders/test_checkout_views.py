"""The client's checkout pages: basket, review, « Choisir mon paiement », Mes commandes."""

import datetime
import html
import re
import uuid
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from distributions.models import Distribution, DistributionStatus
from orders.models import Order, OrderLine, Unit
from orders.services import basket_read, order_checkout
from payments.ledger import client_account
from payments.models import Payment, Transaction
from payments.services import opening_balance_record, payment_cancel, payment_receive
from tests.factories import PASSWORD, MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

NBSP = "\u00a0"
IBAN = "FR7630006000011234567890189"
IBAN_GROUPED = "FR76 3000 6000 0112 3456 7890 189"


@pytest.fixture
def market(db, market):
    # ``db`` named here too: pytest does not count the fixtures an overridden
    # fixture uses, and without it the test database would not be set up.
    market.payment_methods = ["cheque", "cash", "transfer", "cagnotte"]
    market.iban = IBAN
    market.bic = "AGRIFRPP882"
    market.account_holder = "Association Marché de Montreuil"
    market.cheque_payee = "Les Amis du Marché"
    market.save()
    return market


@pytest.fixture
def carrots(market):
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    return ProductFactory(producer=farm, name="Carottes", unit=Unit.KG, unit_price=Decimal("2.80"))


@pytest.fixture
def honey(market):
    hives = ProducerFactory(market=market, name="Rucher des Lilas")
    return ProductFactory(producer=hives, name="Miel", unit=Unit.PIECE, unit_price=Decimal("6.80"))


@pytest.fixture
def distribution(market):
    return DistributionFactory(market=market, date=datetime.date(2026, 12, 4), place="La Halle")


@pytest.fixture
def shopper(login, member):
    return login(member)


def url(name, market, **kwargs):
    return reverse(name, kwargs={"market_slug": market.slug, **kwargs})


def shop_url(distribution, name="distribution_shop"):
    return url(name, distribution.market, distribution_id=distribution.pk)


def quantities(typed: dict) -> dict:
    """``{carrots: "2"}`` → the shop form's ``qty-<id>`` fields."""
    return {f"qty-{product.pk}": text for product, text in typed.items()}


def offered_choices(response) -> list[str]:
    inputs = re.findall(r'<input[^>]*name="choice"[^>]*>', response.content.decode())
    return [re.search(r'value="([^"]+)"', tag).group(1) for tag in inputs]


def form_token(response) -> str:
    return re.search(r'name="form_token" value="([0-9a-f]{32})"', response.content.decode()).group(
        1
    )


def fill_basket(browser, distribution, typed):
    response = browser.post(shop_url(distribution), quantities(typed))
    assert response.status_code == 302, response.content.decode()
    return response


def pay(browser, distribution, choice, token=None):
    page = browser.get(shop_url(distribution, "checkout_payment"))
    data = {"form_token": token or form_token(page)}
    if choice is not None:
        data["choice"] = choice
    return browser.post(shop_url(distribution, "checkout_payment"), data)


def place_order(browser, distribution, choice, typed):
    fill_basket(browser, distribution, typed)
    response = pay(browser, distribution, choice)
    assert response.status_code == 302, response.content.decode()
    return Order.objects.get(pk=int(response.url.rstrip("/").rsplit("/", 1)[1]))


def text(response) -> str:
    """The page's text, spaces collapsed (the templates wrap lines), no-break spaces kept."""
    words = re.sub(r"<[^>]+>", " ", response.content.decode())
    return html.unescape(re.sub(r"[ \t\r\n]+", " ", words)).strip()


def flashed(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def assert_nothing_recorded():
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert Transaction.objects.filter(kind="order").count() == 0
    assert Payment.objects.count() == 0


# The whole flow


def test_a_client_orders_and_nothing_is_recorded_before_choosing_a_payment(
    shopper, market, member, distribution, carrots, honey
):
    page = shopper.get(shop_url(distribution))
    assert page.status_code == 200
    assert "Carottes" in text(page) and "Miel" in text(page)

    response = fill_basket(shopper, distribution, {carrots: "2", honey: "1"})
    assert response.url == shop_url(distribution, "basket_review")
    assert_nothing_recorded()

    review = shopper.get(response.url)
    assert f"12,40{NBSP}€" in text(review)
    assert "Choisir mon paiement" in text(review)
    assert_nothing_recorded()

    payment_page = shopper.get(shop_url(distribution, "checkout_payment"))
    assert payment_page.status_code == 200
    assert offered_choices(payment_page) == ["cheque", "cash", "on_site", "transfer", "cagnotte"]
    assert_nothing_recorded()

    response = shopper.post(
        shop_url(distribution, "checkout_payment"),
        {"choice": "transfer", "form_token": form_token(payment_page)},
    )

    order = Order.objects.get()
    assert response.status_code == 302
    assert response.url == url("order_detail", market, order_id=order.pk)
    assert (order.membership, order.total, order.payment_method) == (
        member,
        Decimal("12.40"),
        "transfer",
    )
    assert Payment.objects.get().amount == Decimal("12.40")
    assert client_account(member).held == Decimal("-12.40")


def test_the_payment_page_lists_only_the_methods_the_market_enabled(
    shopper, market, distribution, carrots
):
    market.payment_methods = ["transfer", "card_terminal", "online_card"]
    market.save()
    fill_basket(shopper, distribution, {carrots: "1"})

    page = shopper.get(shop_url(distribution, "checkout_payment"))

    assert offered_choices(page) == ["transfer", "card_terminal"]
    assert "Carte bancaire sur place" in text(page)
    assert "Chèque" not in text(page)


def test_the_basket_is_kept_between_the_pages_until_the_order_is_recorded(
    shopper, distribution, carrots
):
    fill_basket(shopper, distribution, {carrots: "1,5"})

    page = shopper.get(shop_url(distribution))

    assert 'value="1,5"' in page.content.decode()


# Confirmation, per method


def test_the_transfer_confirmation_shows_the_iban_by_groups_of_four_and_the_reference(
    shopper, distribution, carrots, honey
):
    order = place_order(shopper, distribution, "transfer", {carrots: "2", honey: "1"})

    page = shopper.get(url("order_detail", order.market, order_id=order.pk))

    content = text(page)
    assert IBAN_GROUPED in content
    assert "AGRIFRPP882" in content
    assert "Association Marché de Montreuil" in content
    assert f"12,40{NBSP}€" in content
    assert order.reference == f"2026-12-04-{order.number:04d}"
    assert f"Référence à indiquer {order.reference}" in content
    assert "Votre commande est enregistrée." in content


def test_the_cheque_confirmation_shows_the_payee_and_the_reference_to_write(
    shopper, distribution, carrots
):
    order = place_order(shopper, distribution, "cheque", {carrots: "2"})

    content = text(shopper.get(url("order_detail", order.market, order_id=order.pk)))

    assert f"Préparez un chèque de 5,60{NBSP}€" in content
    assert f"Ordre du chèque{NBSP}: Les Amis du Marché" in content
    assert f"Écrivez au dos la référence {order.reference}" in content
    assert IBAN_GROUPED not in content


@pytest.mark.parametrize(
    ("choice", "title"), [("cash", "Espèces"), ("on_site", "Sur place (à préciser)")]
)
def test_paying_at_pickup_says_so(choice, title, shopper, distribution, carrots):
    order = place_order(shopper, distribution, choice, {carrots: "2"})

    content = text(shopper.get(url("order_detail", order.market, order_id=order.pk)))

    assert title in content
    assert f"Vous réglerez 5,60{NBSP}€ sur place, en récupérant votre panier." in content


def test_paying_from_the_balance_says_it_was_deducted(shopper, member, distribution, carrots):
    opening_balance_record(
        membership=member, amount=Decimal("20.00"), label="Reprise", recorded_by=None
    )
    order = place_order(shopper, distribution, "cagnotte", {carrots: "2"})

    content = text(shopper.get(url("order_detail", order.market, order_id=order.pk)))

    assert f"5,60{NBSP}€ ont été déduits de votre solde." in content
    assert f"Votre solde : 14,40{NBSP}€" in content
    assert Payment.objects.count() == 0


def test_in_cagnotte_mode_no_method_is_asked_and_the_cagnotte_is_explained(
    shopper, market, distribution, carrots
):
    market.cagnotte_mode = True
    market.save()
    fill_basket(shopper, distribution, {carrots: "2"})

    page = shopper.get(shop_url(distribution, "checkout_payment"))
    assert offered_choices(page) == []
    assert "Ce marché fonctionne avec une cagnotte" in text(page)

    order = place_order(shopper, distribution, None, {carrots: "2"})
    content = text(shopper.get(url("order_detail", market, order_id=order.pk)))
    assert "Ce marché fonctionne avec une cagnotte" in content
    assert "l'administrateur du marché se rapprochera de vous" in content
    assert Payment.objects.count() == 0


def test_the_cagnotte_floor_refusal_is_shown_on_the_payment_page(
    shopper, market, member, distribution, carrots, honey
):
    market.allow_negative_balances = False
    market.save()
    opening_balance_record(
        membership=member, amount=Decimal("5.00"), label="Reprise", recorded_by=None
    )
    fill_basket(shopper, distribution, {carrots: "2", honey: "1"})

    response = pay(shopper, distribution, "cagnotte")

    assert response.status_code == 400
    assert (
        f"Votre solde (5,00{NBSP}€) ne couvre pas cette commande (12,40{NBSP}€) : "
        "créditez votre compte d'abord." in text(response)
    )
    assert_nothing_recorded()


# Double submissions


def test_posting_the_same_payment_form_twice_records_one_order(
    shopper, market, member, distribution, carrots
):
    fill_basket(shopper, distribution, {carrots: "2"})
    token = form_token(shopper.get(shop_url(distribution, "checkout_payment")))

    first = pay(shopper, distribution, "cheque", token=token)
    second = pay(shopper, distribution, "cheque", token=token)

    assert first.status_code == second.status_code == 302
    assert first.url == second.url
    assert Order.objects.count() == 1
    assert Transaction.objects.count() == 1
    assert Payment.objects.count() == 1
    assert client_account(member).held == Decimal("-5.60")


def test_resending_the_payment_form_after_changing_the_basket_records_nothing_more(
    shopper, market, member, distribution, carrots, honey
):
    fill_basket(shopper, distribution, {carrots: "2"})
    token = form_token(shopper.get(shop_url(distribution, "checkout_payment")))
    first = pay(shopper, distribution, "cheque", token=token)
    fill_basket(shopper, distribution, {carrots: "2", honey: "1"})

    second = pay(shopper, distribution, "transfer", token=token)

    assert second.status_code == 302
    assert second.url == first.url
    assert Order.objects.get().total == Decimal("5.60")
    assert Transaction.objects.count() == 1
    assert [(p.method, p.amount) for p in Payment.objects.all()] == [("cheque", Decimal("5.60"))]
    assert client_account(member).held == Decimal("-5.60")


# Mes commandes


def test_my_orders_lists_amount_method_payment_state_and_reference(
    shopper, market, member, distribution, carrots, honey
):
    order = place_order(shopper, distribution, "transfer", {carrots: "2", honey: "1"})
    someone_else = MembershipFactory(market=market)
    order_checkout(
        membership=someone_else,
        distribution=distribution,
        lines=basket_read(market, {str(carrots.pk): "7"}),
        choice="cheque",
        token=uuid.uuid4().hex,
    )

    page = shopper.get(url("my_orders", market))

    content = text(page)
    row = re.search(r'<table[^>]*id="my-orders".*?</table>', page.content.decode(), re.S).group()
    assert row.count("<tr>") == 2  # the header and my only order
    assert f"12,40{NBSP}€" in content
    assert "Virement" in content
    assert f"12,40{NBSP}€ à recevoir" in content
    assert order.reference in content
    assert f"19,60{NBSP}€" not in content


def test_an_order_paid_partly_from_the_balance_still_shows_what_is_to_receive(
    shopper, market, member, distribution, carrots, honey
):
    opening_balance_record(
        membership=member, amount=Decimal("20.00"), label="Reprise", recorded_by=None
    )
    order = place_order(shopper, distribution, "transfer", {carrots: "2"})
    place_order(shopper, distribution, "cagnotte", {carrots: "2", honey: "1"})

    listing = text(shopper.get(url("my_orders", market)))
    detail = text(shopper.get(url("order_detail", market, order_id=order.pk)))

    assert f"5,60{NBSP}€ à recevoir" in listing
    assert "Payé avec la cagnotte" not in listing
    assert f"6,80{NBSP}€ ont été déduits de votre solde." in detail
    assert f"Référence à indiquer {order.reference}" in detail
    assert f"Votre solde : 7,60{NBSP}€" in detail  # the transfer is not received yet


def payments_cell(page) -> str:
    """The « Paiements » cell of the only order listed in « Mes commandes »."""
    table = re.search(r'<table[^>]*id="my-orders".*?</table>', page.content.decode(), re.S)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table.group(), re.S)
    words = re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", cells[3]))
    return html.unescape(words).strip()


def test_my_orders_shows_every_payment_of_an_order_with_its_status_and_reference(
    shopper, market, member, distribution, carrots, honey
):
    opening_balance_record(
        membership=member, amount=Decimal("20.00"), label="Reprise", recorded_by=None
    )
    order = place_order(shopper, distribution, "transfer", {carrots: "2"})
    place_order(shopper, distribution, "cheque", {carrots: "3"})
    place_order(shopper, distribution, "cagnotte", {carrots: "3", honey: "1"})
    payment_receive(payment=Payment.objects.get(method="cheque"), received_by=None)

    cell = payments_cell(shopper.get(url("my_orders", market)))

    assert cell == (
        f"Virement 5,60{NBSP}€ À recevoir {order.reference} "
        f"Chèque 2,80{NBSP}€ Reçu {order.reference}-2 "
        f"Cagnotte (payé avec mon solde) 6,80{NBSP}€"
    )


def test_my_orders_leaves_out_a_cancelled_payment(shopper, market, distribution, carrots):
    place_order(shopper, distribution, "transfer", {carrots: "2"})
    payment_cancel(payment=Payment.objects.get(), cancelled_by=None)

    cell = payments_cell(shopper.get(url("my_orders", market)))

    assert cell == "—"


def test_in_cagnotte_mode_my_orders_names_the_market_s_cagnotte(
    shopper, market, distribution, carrots
):
    market.cagnotte_mode = True
    market.save()
    place_order(shopper, distribution, None, {carrots: "2"})

    cell = payments_cell(shopper.get(url("my_orders", market)))

    assert cell == f"Cagnotte du marché 5,60{NBSP}€"


def test_a_complement_by_transfer_is_asked_under_its_own_reference(
    shopper, market, distribution, carrots, honey
):
    order = place_order(shopper, distribution, "transfer", {carrots: "2"})
    place_order(shopper, distribution, "transfer", {carrots: "2", honey: "1"})

    detail = text(shopper.get(url("order_detail", market, order_id=order.pk)))

    assert f"Montant 5,60{NBSP}€ Référence à indiquer {order.reference} Indiquez" in detail
    assert f"Montant 6,80{NBSP}€ Référence à indiquer {order.reference}-2 Indiquez" in detail


def instruction_kinds(page) -> list[str]:
    return re.findall(r'class="payment-instructions" data-kind="(\w+)"', page.content.decode())


def test_after_a_switch_to_cagnotte_mode_the_order_page_shows_the_transfer_still_expected(
    shopper, market, distribution, carrots
):
    order = place_order(shopper, distribution, "transfer", {carrots: "2"})
    market.cagnotte_mode = True
    market.save()

    page = shopper.get(url("order_detail", market, order_id=order.pk))

    assert instruction_kinds(page) == ["transfer"]
    assert f"Montant 5,60{NBSP}€" in text(page)
    assert f"0,00{NBSP}€" not in text(page)


def test_once_payments_are_not_managed_a_received_transfer_leaves_nothing_to_do(
    shopper, market, distribution, carrots
):
    order = place_order(shopper, distribution, "transfer", {carrots: "2"})
    payment_receive(payment=Payment.objects.get(), received_by=None)
    market.payments_enabled = False
    market.save()

    page = shopper.get(url("order_detail", market, order_id=order.pk))

    assert instruction_kinds(page) == []


def test_after_a_switch_to_cagnotte_mode_a_cancelled_transfer_is_left_to_the_cagnotte(
    shopper, market, distribution, carrots
):
    order = place_order(shopper, distribution, "transfer", {carrots: "2"})
    payment_cancel(payment=Payment.objects.get(), cancelled_by=None)
    market.cagnotte_mode = True
    market.save()

    page = shopper.get(url("order_detail", market, order_id=order.pk))

    assert instruction_kinds(page) == []


def test_moving_the_distribution_keeps_the_reference_shown_to_the_client(
    shopper, market, distribution, carrots
):
    order = place_order(shopper, distribution, "transfer", {carrots: "2"})
    Distribution.objects.filter(pk=distribution.pk).update(date=datetime.date(2026, 12, 11))

    listing = text(shopper.get(url("my_orders", market)))
    detail = text(shopper.get(url("order_detail", market, order_id=order.pk)))

    reference = f"2026-12-04-{order.number:04d}"
    assert reference in listing
    assert f"Référence à indiquer {reference}" in detail
    assert "2026-12-11" not in listing + detail
    assert Payment.objects.get().reference == reference


def test_my_orders_is_empty_for_a_new_client(shopper, market):
    content = text(shopper.get(url("my_orders", market)))

    assert "Vous n'avez pas encore passé de commande." in content


# Changing an order


def test_the_shop_explains_why_an_order_can_only_grow_once_recorded(shopper, distribution, carrots):
    place_order(shopper, distribution, "cheque", {carrots: "2"})

    content = text(shopper.get(shop_url(distribution)))

    assert "on ne peut plus retirer de produit ni diminuer une quantité" in content
    assert "déjà commandé : 2" in content


def test_the_shop_does_not_lock_orders_when_the_market_does_not_manage_payments(
    shopper, market, distribution, carrots
):
    market.payments_enabled = False
    market.save()
    place_order(shopper, distribution, None, {carrots: "2"})

    content = text(shopper.get(shop_url(distribution)))

    assert "on ne peut plus retirer" not in content


def test_lowering_a_recorded_quantity_is_refused_on_the_shop_page(shopper, distribution, carrots):
    place_order(shopper, distribution, "cheque", {carrots: "2"})

    response = shopper.post(shop_url(distribution), quantities({carrots: "1"}))

    assert response.status_code == 400
    assert "mais pas retirer Carottes ni en diminuer la quantité" in text(response)
    assert Order.objects.get().total == Decimal("5.60")


def test_an_addition_asks_a_method_for_the_difference_only(
    shopper, market, distribution, carrots, honey
):
    order = place_order(shopper, distribution, "cheque", {carrots: "2"})
    fill_basket(shopper, distribution, {carrots: "2", honey: "1"})

    page = shopper.get(shop_url(distribution, "checkout_payment"))
    assert f"Complément à payer 6,80{NBSP}€" in text(page)
    assert f"le complément de 6,80{NBSP}€" in text(page)

    response = pay(shopper, distribution, "transfer")

    assert response.url == url("order_detail", market, order_id=order.pk)
    payments = Payment.objects.order_by("pk")
    assert [(p.method, p.amount) for p in payments] == [
        ("cheque", Decimal("5.60")),
        ("transfer", Decimal("6.80")),
    ]
    content = text(shopper.get(response.url))
    assert f"12,40{NBSP}€" in content
    assert f"Montant 6,80{NBSP}€" in content


def test_the_difference_shown_is_the_one_recorded_after_a_price_change(
    shopper, market, distribution, carrots, honey
):
    place_order(shopper, distribution, "cheque", {carrots: "2"})
    carrots.unit_price = Decimal("3.00")
    carrots.save()
    fill_basket(shopper, distribution, {carrots: "2", honey: "1"})

    page = shopper.get(shop_url(distribution, "checkout_payment"))
    assert f"Complément à payer 6,80{NBSP}€" in text(page)
    assert f"12,40{NBSP}€" in text(page)

    pay(shopper, distribution, "cheque")
    assert Payment.objects.latest("pk").amount == Decimal("6.80")


def test_without_payment_management_a_client_can_empty_their_basket(
    shopper, market, member, distribution, carrots
):
    market.payments_enabled = False
    market.save()
    place_order(shopper, distribution, None, {carrots: "2"})

    fill_basket(shopper, distribution, {carrots: "0"})
    review = shopper.get(shop_url(distribution, "basket_review"))
    assert "Carottes" not in text(review)

    response = pay(shopper, distribution, None)

    assert response.status_code == 302
    order = Order.objects.get()
    assert order.total == Decimal("0.00")
    assert order.lines.count() == 0
    assert client_account(member).held == Decimal("0.00")
    assert Transaction.objects.count() == 2


def test_without_payment_management_a_smaller_basket_shows_what_comes_off_the_account(
    shopper, market, distribution, carrots
):
    market.payments_enabled = False
    market.save()
    place_order(shopper, distribution, None, {carrots: "2"})
    fill_basket(shopper, distribution, {carrots: "1"})

    for name in ("basket_review", "checkout_payment"):
        page = text(shopper.get(shop_url(distribution, name)))

        assert f"À déduire de votre compte 2,80{NBSP}€" in page
        assert "Complément à payer" not in page
        assert f"-2,80{NBSP}€" not in page


def test_a_resent_unchanged_basket_says_nothing_changed(shopper, distribution, carrots):
    place_order(shopper, distribution, "cheque", {carrots: "2"})
    fill_basket(shopper, distribution, {carrots: "2"})

    review = shopper.get(shop_url(distribution, "basket_review"))

    assert "Rien n'a changé depuis votre commande." in text(review)


# Bad input


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-2", "La quantité de Carottes ne peut pas être négative."),
        ("100000", "Carottes : 999 au plus par commande."),
        ("beaucoup", "« beaucoup » n'est pas une quantité valable pour Carottes."),
        ("NaN", "« NaN » n'est pas une quantité valable pour Carottes."),
        ("0,001", f"Quantité trop petite : 0,001 kg de Carottes reviendrait à 0,00{NBSP}€."),
    ],
)
def test_a_nonsense_quantity_is_refused_with_a_french_message(
    typed, message, shopper, distribution, carrots
):
    response = shopper.post(shop_url(distribution), quantities({carrots: typed}))

    assert response.status_code == 400
    assert message in text(response)
    assert f'value="{typed}"' in response.content.decode()  # what was typed is shown back
    assert shopper.session.get("baskets", {}) == {}


def test_half_a_piece_is_refused(shopper, distribution, honey):
    response = shopper.post(shop_url(distribution), quantities({honey: "0,5"}))

    assert response.status_code == 400
    assert "Miel se commande à l'unité : indiquez un nombre entier." in text(response)


def test_an_empty_basket_is_refused_on_the_shop_page(shopper, distribution, carrots):
    response = shopper.post(shop_url(distribution), quantities({carrots: "0"}))

    assert response.status_code == 400
    assert "Votre panier est vide" in text(response)


@pytest.mark.parametrize("product_id", ["abc", "99999999999999999999999", "0"])
def test_a_forged_product_field_is_refused(product_id, shopper, distribution, carrots):
    response = shopper.post(shop_url(distribution), {f"qty-{product_id}": "1"})

    assert response.status_code == 400
    assert "Ce produit n'existe pas." in text(response)


def test_a_product_of_another_market_is_refused(shopper, distribution, other_market):
    elsewhere = ProductFactory(producer=ProducerFactory(market=other_market))

    response = shopper.post(shop_url(distribution), quantities({elsewhere: "1"}))

    assert response.status_code == 400
    assert "Un des produits demandés n'est pas proposé par ce marché." in text(response)


def test_a_forged_payment_choice_is_refused_in_french_and_nothing_is_written(
    shopper, distribution, carrots
):
    fill_basket(shopper, distribution, {carrots: "2"})

    response = pay(shopper, distribution, "card_terminal")

    assert response.status_code == 400
    assert "Ce moyen de paiement n'est pas proposé par le marché." in text(response)
    assert_nothing_recorded()


def test_a_payment_without_a_choice_asks_for_one(shopper, distribution, carrots):
    fill_basket(shopper, distribution, {carrots: "2"})

    response = pay(shopper, distribution, None)

    assert response.status_code == 400
    assert "Choisissez un moyen de paiement." in text(response)
    assert_nothing_recorded()


def test_a_forged_form_token_is_refused(shopper, distribution, carrots):
    fill_basket(shopper, distribution, {carrots: "2"})

    response = pay(shopper, distribution, "cheque", token="'; DROP TABLE orders_order; --")

    assert response.status_code == 400
    assert "Formulaire expiré : rechargez la page et recommencez." in text(response)
    assert_nothing_recorded()


def test_the_payment_page_without_a_basket_sends_back_to_the_shop(shopper, distribution):
    response = shopper.get(shop_url(distribution, "checkout_payment"))

    assert response.status_code == 302
    assert response.url == shop_url(distribution)


def test_a_stale_basket_with_a_product_no_longer_on_sale_sends_back_to_the_shop(
    shopper, distribution, carrots
):
    fill_basket(shopper, distribution, {carrots: "2"})
    carrots.active = False
    carrots.save()

    response = shopper.post(
        shop_url(distribution, "checkout_payment"),
        {"choice": "cheque", "form_token": uuid.uuid4().hex},
    )

    assert response.status_code == 302
    assert response.url == shop_url(distribution)
    assert flashed(response) == ["Un des produits demandés n'est pas proposé par ce marché."]
    assert_nothing_recorded()


# Closed distributions


def test_a_closed_distribution_says_orders_are_closed_and_a_post_writes_nothing(
    shopper, distribution, carrots
):
    fill_basket(shopper, distribution, {carrots: "2"})
    token = form_token(shopper.get(shop_url(distribution, "checkout_payment")))
    distribution.status = DistributionStatus.CLOSED
    distribution.save()

    page = shopper.get(shop_url(distribution))
    assert "Les commandes sont closes pour cette distribution." in text(page)
    assert 'name="qty-' not in page.content.decode()

    assert shopper.post(shop_url(distribution), quantities({carrots: "5"})).status_code == 200
    response = pay(shopper, distribution, "cheque", token=token)

    assert response.status_code == 302
    assert response.url == shop_url(distribution)
    assert_nothing_recorded()


@pytest.mark.parametrize("name", ["basket_review", "checkout_payment"])
def test_past_the_closing_time_the_review_and_payment_pages_send_back_to_the_shop(
    name, shopper, market, carrots
):
    distribution = DistributionFactory(market=market)
    fill_basket(shopper, distribution, {carrots: "2"})
    Distribution.objects.filter(pk=distribution.pk).update(
        orders_open_at=timezone.now() - datetime.timedelta(days=3),
        orders_close_at=timezone.now() - datetime.timedelta(minutes=1),
    )

    response = shopper.get(shop_url(distribution, name))

    assert response.status_code == 302
    assert response.url == shop_url(distribution)
    assert "Les commandes sont closes" in text(shopper.get(response.url))


# Access


def test_another_client_s_order_is_not_found(shopper, market, distribution, carrots):
    someone_else = MembershipFactory(market=market)
    theirs = order_checkout(
        membership=someone_else,
        distribution=distribution,
        lines=basket_read(market, {str(carrots.pk): "1"}),
        choice="cheque",
        token=uuid.uuid4().hex,
    )

    response = shopper.get(url("order_detail", market, order_id=theirs.pk))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["distribution_shop", "basket_review", "checkout_payment"])
def test_another_market_s_distribution_is_not_found(name, shopper, market, other_market):
    elsewhere = DistributionFactory(market=other_market)

    assert shopper.get(url(name, market, distribution_id=elsewhere.pk)).status_code == 404
    response = shopper.post(
        url(name, market, distribution_id=elsewhere.pk),
        {"choice": "cheque", "form_token": uuid.uuid4().hex},
    )
    assert response.status_code == 404
    assert_nothing_recorded()


def test_a_client_of_two_markets_cannot_order_across_them(
    login, market, member, other_market, distribution, carrots
):
    other_market.payment_methods = ["cheque"]
    other_market.save()
    MembershipFactory(market=other_market, user=member.user)
    browser = login(member)

    response = browser.post(
        url("distribution_shop", other_market, distribution_id=distribution.pk),
        quantities({carrots: "1"}),
    )

    assert response.status_code == 404
    assert_nothing_recorded()


def test_another_market_s_order_is_not_found(login, member, other_market, market):
    other_member = MembershipFactory(market=other_market, user=member.user)
    product = ProductFactory(producer=ProducerFactory(market=other_market))
    theirs = order_checkout(
        membership=other_member,
        distribution=DistributionFactory(market=other_market),
        lines=basket_read(other_market, {str(product.pk): "1"}),
        choice="cheque",
        token=uuid.uuid4().hex,
    )

    response = login(member).get(url("order_detail", market, order_id=theirs.pk))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["distribution_shop", "checkout_payment"])
def test_an_id_beyond_any_database_id_is_not_found(name, shopper, market):
    response = shopper.get(url(name, market, distribution_id=10**30))

    assert response.status_code == 404


def test_an_order_id_beyond_any_database_id_is_not_found(shopper, market):
    assert shopper.get(url("order_detail", market, order_id=10**30)).status_code == 404


@pytest.mark.parametrize(
    "name", ["shop_distribution_list", "my_orders", "distribution_shop", "checkout_payment"]
)
def test_it_requires_login(name, client, market, distribution):
    kwargs = {"distribution_id": distribution.pk} if name.startswith(("dist", "check")) else {}

    response = client.get(url(name, market, **kwargs))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_non_member_cannot_see_the_market_s_distributions(login, other_admin, market):
    response = login(other_admin).get(url("shop_distribution_list", market))

    assert response.status_code == 404


def test_csrf_is_enforced_on_the_payment_form(member, distribution, carrots):
    browser = Client(enforce_csrf_checks=True)
    assert browser.login(username=member.user.email, password=PASSWORD)
    page = browser.get(shop_url(distribution))
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    browser.post(
        shop_url(distribution), {"csrfmiddlewaretoken": csrf, **quantities({carrots: "2"})}
    )
    token = form_token(browser.get(shop_url(distribution, "checkout_payment")))

    forged = browser.post(
        shop_url(distribution, "checkout_payment"), {"choice": "cheque", "form_token": token}
    )

    assert forged.status_code == 403
    assert_nothing_recorded()
    genuine = browser.post(
        shop_url(distribution, "checkout_payment"),
        {"choice": "cheque", "form_token": token, "csrfmiddlewaretoken": csrf},
    )
    assert genuine.status_code == 302
    assert Order.objects.count() == 1


def test_the_distribution_list_shows_open_distributions_and_my_basket(
    shopper, market, distribution, carrots
):
    closed = DistributionFactory(
        market=market, date=datetime.date(2026, 11, 27), status=DistributionStatus.CLOSED
    )
    order = place_order(shopper, distribution, "cheque", {carrots: "2"})

    page = shopper.get(url("shop_distribution_list", market))

    assert shop_url(distribution) in page.content.decode()
    assert shop_url(closed) not in page.content.decode()
    assert f"Panier n° {order.number} commandé" in text(page)


def test_the_payment_step_of_an_unchanged_basket_leads_back_to_the_order(
    shopper, market, distribution, carrots
):
    """Browser back to « Choisir mon paiement » after ordering: nothing to pay, nothing asked."""
    order = place_order(shopper, distribution, "cheque", {carrots: "2"})

    response = shopper.get(shop_url(distribution, "checkout_payment"), follow=True)

    assert response.redirect_chain[-1][0] == url("order_detail", market, order_id=order.pk)
    assert "Rien n'a changé depuis votre commande." in text(response)
    assert Order.objects.count() == 1 and order.payments.count() == 1


def test_units_follow_the_quantity(shopper, market, distribution):
    from orders.models import Unit

    assert Unit.counted("piece", Decimal("1")) == "pièce"
    assert Unit.counted("piece", Decimal("2")) == "pièces"
    assert Unit.counted("basket", Decimal("3.000")) == "paniers"
    assert Unit.counted("kg", Decimal("1.5")) == "kg"
