"""After orders close, an admin changes an order: each change is an adjustment with a reason."""

import html
from decimal import Decimal

import pytest
from django.urls import reverse

from distributions.models import DistributionStatus
from orders.models import Unit
from orders.services import basket_read, order_checkout
from payments.ledger import account_balance, client_account, sales_account
from payments.models import Transaction, TransactionKind
from tests.factories import MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

TOKEN = "a" * 32


@pytest.fixture
def catalogue(market):
    farm = ProducerFactory(market=market, name="Ferme des Trois Chênes")
    dairy = ProducerFactory(market=market, name="Fromagerie du Plateau")
    return {
        "carrots": ProductFactory(producer=farm, name="Carottes", unit_price=Decimal("2.10")),
        "cheese": ProductFactory(
            producer=dairy, name="Crottin", unit=Unit.PIECE, unit_price=Decimal("2.90")
        ),
        "honey": ProductFactory(
            producer=farm, name="Miel", unit=Unit.PIECE, unit_price=Decimal("9.50")
        ),
    }


@pytest.fixture
def order(market, member, catalogue):
    market.payment_methods = ["cheque"]
    market.save()
    distribution = DistributionFactory(market=market)
    lines = basket_read(market, {catalogue["carrots"].pk: "2", catalogue["cheese"].pk: "3"})
    placed = order_checkout(
        membership=member, distribution=distribution, lines=lines, choice="cheque", token="t1"
    )
    distribution.status = DistributionStatus.CLOSED
    distribution.save()
    return placed


def _url(order):
    return reverse("order_edit", args=[order.market.slug, order.pk])


def _data(order, catalogue, **overrides):
    data = {
        f"qty-{catalogue['carrots'].pk}": "2",
        f"price-{catalogue['carrots'].pk}": "2,10",
        f"qty-{catalogue['cheese'].pk}": "3",
        f"price-{catalogue['cheese'].pk}": "2,90",
        "add_product": "",
        "add_quantity": "",
        "reason": "Crottin manquant",
        "form_token": TOKEN,
    }
    data.update(overrides)
    return data


def test_removing_a_missing_product_credits_the_client_with_a_reason(
    login, admin, member, order, catalogue
):
    before = client_account(member).held
    response = login(admin).post(
        _url(order), _data(order, catalogue, **{f"qty-{catalogue['cheese'].pk}": "0"})
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.total == Decimal("4.20")
    assert not order.lines.filter(product=catalogue["cheese"]).exists()
    assert client_account(member).held == before + Decimal("8.70")
    adjustment = Transaction.objects.get(kind=TransactionKind.ORDER_ADJUSTMENT)
    assert adjustment.reason == "Crottin manquant"
    assert adjustment.created_by == admin.user
    assert adjustment.order == order
    dairy = catalogue["cheese"].producer
    assert account_balance(sales_account(order.market, dairy)) == Decimal("0.00")


def test_a_price_fixed_at_pickup_posts_the_difference(login, admin, member, order, catalogue):
    before = client_account(member).held
    login(admin).post(
        _url(order),
        _data(order, catalogue, **{f"qty-{catalogue['carrots'].pk}": "2,35"}),
    )
    order.refresh_from_db()
    # 2,35 kg instead of 2 kg at 2,10 €: 0,735 € rounds to 0,74 € more.
    assert order.total == Decimal("13.64")
    assert client_account(member).held == before - Decimal("0.74")


def test_adding_a_product_at_the_pickup(login, admin, order, catalogue):
    login(admin).post(
        _url(order),
        _data(order, catalogue, add_product=str(catalogue["honey"].pk), add_quantity="1"),
    )
    order.refresh_from_db()
    line = order.lines.get(product=catalogue["honey"])
    assert (line.quantity, line.unit_price) == (Decimal("1"), Decimal("9.50"))
    assert order.total == Decimal("22.40")


def test_the_adjustment_shows_in_the_clients_history(login, admin, member, order, catalogue):
    browser = login(admin)
    browser.post(
        _url(order), _data(order, catalogue, **{f"price-{catalogue['cheese'].pk}": "2,50"})
    )
    page = browser.get(reverse("client_history", args=[order.market.slug, member.pk])).content
    text = page.decode()
    assert f"Ajustement de commande panier n° {order.number}" in text
    assert "raison : Crottin manquant" in text


def test_an_adjustment_needs_a_reason_and_writes_nothing_without_one(
    login, admin, order, catalogue
):
    response = login(admin).post(
        _url(order), _data(order, catalogue, reason="", **{f"qty-{catalogue['cheese'].pk}": "1"})
    )
    assert response.status_code == 400
    assert "Indiquez la raison de la modification." in response.content.decode()
    assert not Transaction.objects.filter(kind=TransactionKind.ORDER_ADJUSTMENT).exists()


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("-1", "ne peut pas être négative"),
        ("1,5", "se commande à l'unité"),
        ("abc", "n'est pas une quantité valable"),
        ("5000", "999 au plus"),
    ],
)
def test_bad_quantities_are_explained(login, admin, order, catalogue, quantity, message):
    response = login(admin).post(
        _url(order), _data(order, catalogue, **{f"qty-{catalogue['cheese'].pk}": quantity})
    )
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert not Transaction.objects.filter(kind=TransactionKind.ORDER_ADJUSTMENT).exists()


def test_a_line_worth_less_than_a_cent_is_refused_in_an_adjustment(login, admin, order, catalogue):
    response = login(admin).post(
        _url(order), _data(order, catalogue, **{f"qty-{catalogue['carrots'].pk}": "0,001"})
    )
    assert response.status_code == 400
    assert "Quantité trop petite : 0,001 kg de Carottes" in html.unescape(response.content.decode())
    assert not Transaction.objects.filter(kind=TransactionKind.ORDER_ADJUSTMENT).exists()


def test_a_bad_price_is_explained(login, admin, order, catalogue):
    response = login(admin).post(
        _url(order), _data(order, catalogue, **{f"price-{catalogue['cheese'].pk}": "0"})
    )
    assert "Le montant ne peut pas être nul." in response.content.decode()


def test_an_order_keeps_at_least_one_product(login, admin, order, catalogue):
    response = login(admin).post(
        _url(order),
        _data(
            order,
            catalogue,
            **{f"qty-{catalogue['cheese'].pk}": "0", f"qty-{catalogue['carrots'].pk}": "0"},
        ),
    )
    assert "Une commande garde au moins un produit." in response.content.decode()


def test_resubmitting_the_same_adjustment_posts_it_once(login, admin, order, catalogue):
    browser = login(admin)
    data = _data(order, catalogue, **{f"qty-{catalogue['cheese'].pk}": "1"})
    browser.post(_url(order), data)
    browser.post(_url(order), data)
    assert Transaction.objects.filter(kind=TransactionKind.ORDER_ADJUSTMENT).count() == 1


def test_a_validated_basket_is_corrected_by_an_adjustment_with_its_reason(
    login, admin, order, catalogue
):
    order.distribution.status = DistributionStatus.VALIDATED
    order.distribution.save()
    browser = login(admin)
    assert 'id="validated-warning"' in browser.get(_url(order)).content.decode()

    browser.post(_url(order), _data(order, catalogue, **{f"qty-{catalogue['cheese'].pk}": "1"}))

    txn = Transaction.objects.get(kind=TransactionKind.ORDER_ADJUSTMENT)
    assert txn.order_id == order.pk and txn.reason


def test_a_product_of_another_market_cannot_be_added(login, admin, order, catalogue, other_market):
    stranger = ProductFactory(producer=ProducerFactory(market=other_market))
    response = login(admin).post(
        _url(order), _data(order, catalogue, add_product=str(stranger.pk), add_quantity="1")
    )
    assert response.status_code == 400
    assert not order.lines.filter(product=stranger).exists()


def test_only_the_markets_admins_change_orders(
    login, market, order, treasurer, member, other_admin
):
    assert login(member).get(_url(order)).status_code == 403
    assert login(treasurer).get(_url(order)).status_code == 403
    assert login(other_admin).get(_url(order)).status_code == 404


def test_the_distribution_orders_page_lists_each_basket(login, admin, order):
    url = reverse("distribution_orders", args=[order.market.slug, order.distribution_id])
    page = login(admin).get(url).content.decode()
    assert order.reference in page
    assert order.membership.user.display_name in page
    other = MembershipFactory(market=order.market)
    assert other.user.display_name not in page


# -- The payment still expected follows the basket ----------------------------------------


def _expected(order):
    return order.payments.get()


def test_a_missing_product_lowers_the_payment_expected_at_the_pickup(
    login, admin, order, catalogue
):
    """2 × 2,10 + 3 × 2,90 = 12,90 €; one crottin missing: 10,00 € expected."""
    login(admin).post(
        _url(order), _data(order, catalogue, **{f"qty-{catalogue['cheese'].pk}": "2"})
    )

    payment = _expected(order)
    assert (payment.status, payment.amount) == ("pending", Decimal("10.00"))


def test_a_price_fixed_higher_at_the_pickup_raises_the_payment_expected(
    login, admin, order, catalogue
):
    login(admin).post(
        _url(order), _data(order, catalogue, **{f"price-{catalogue['carrots'].pk}": "2,60"})
    )

    assert _expected(order).amount == Decimal("13.90")


def test_a_complement_no_longer_owed_is_no_longer_expected(login, admin, member, order, catalogue):
    """The client added honey (9,50 €, its own payment); honey and a crottin are missing."""
    order.distribution.status = DistributionStatus.OPEN
    order.distribution.save()
    wanted = {catalogue["carrots"].pk: "2", catalogue["cheese"].pk: "3"}
    order_checkout(
        membership=member,
        distribution=order.distribution,
        lines=basket_read(order.market, {**wanted, catalogue["honey"].pk: "1"}),
        choice="cheque",
        token="t2",
    )
    order.distribution.status = DistributionStatus.CLOSED
    order.distribution.save()

    login(admin).post(
        _url(order),
        _data(
            order,
            catalogue,
            **{
                f"qty-{catalogue['cheese'].pk}": "2",
                f"qty-{catalogue['honey'].pk}": "0",
                f"price-{catalogue['honey'].pk}": "9,50",
            },
        ),
    )

    first, complement = order.payments.order_by("pk")
    assert (complement.status, complement.amount) == ("cancelled", Decimal("9.50"))
    assert (first.status, first.amount) == ("pending", Decimal("10.00"))


def test_a_received_payment_is_never_changed_by_an_adjustment(login, admin, order, catalogue):
    from payments.services import payment_receive

    payment_receive(payment=_expected(order), received_by=admin.user, cheque_number="42")

    login(admin).post(
        _url(order), _data(order, catalogue, **{f"qty-{catalogue['cheese'].pk}": "2"})
    )

    payment = _expected(order)
    assert (payment.status, payment.amount) == ("received", Decimal("12.90"))
    assert client_account(order.membership).held == Decimal("2.90")


def test_a_validated_basket_refuses_a_change_that_would_leave_no_trace(
    login, admin, order, catalogue
):
    """Carrots 2 kg × 2,10 become 1 kg × 4,20: the same amount, so no entry would say why."""
    order.validated_at = order.created_at
    order.save()

    response = login(admin).post(
        _url(order),
        _data(
            order,
            catalogue,
            **{f"qty-{catalogue['carrots'].pk}": "1", f"price-{catalogue['carrots'].pk}": "4,20"},
        ),
    )

    assert "ne laisserait pas de trace" in html.unescape(response.content.decode())
    line = order.lines.get(product=catalogue["carrots"])
    assert (line.quantity, line.unit_price) == (Decimal("2"), Decimal("2.10"))
