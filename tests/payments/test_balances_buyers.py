"""« Solde des clients » lists the people who buy: staff only once they buy."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from accounts.models import Role
from orders.services import basket_read, order_checkout
from payments.models import Export, PaymentMethod
from payments.services import payment_record
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.jobs import run_jobs

pytestmark = pytest.mark.django_db


def _member(market, role, last):
    user = UserFactory(first_name="Camille", last_name=last)
    return MembershipFactory(market=market, user=user, role=role)


@pytest.fixture
def people(market):
    """A client, and an admin and a treasurer who only run the market."""
    return {
        "client": _member(market, Role.CLIENT, "Cliente"),
        "admin": _member(market, Role.ADMIN, "Admine"),
        "treasurer": _member(market, Role.TREASURER, "Tresoriere"),
    }


def _page(login, people, **params):
    url = reverse("balance_list", args=[people["client"].market.slug])
    return login(people["treasurer"]).get(url, params)


def _names(response):
    return [row.name for row in response.context["rows"]]


def _order(membership):
    market = membership.market
    product = ProductFactory(
        producer=ProducerFactory(market=market), unit="piece", unit_price=Decimal("6.00")
    )
    return order_checkout(
        membership=membership,
        distribution=DistributionFactory(market=market),
        lines=basket_read(market, {product.pk: "1"}),
        choice="cash",
        token="c" * 32,
        notify=False,
    )


def test_staff_who_never_bought_are_not_listed_nor_counted(login, people):
    response = _page(login, people)

    assert _names(response) == ["Cliente Camille"]
    assert response.context["totals"].clients == 1
    assert response.context["totals"].settled == 1


def test_an_admin_who_ordered_is_listed_and_counted(login, people):
    _order(people["admin"])

    response = _page(login, people)

    assert _names(response) == ["Admine Camille", "Cliente Camille"]
    assert response.context["totals"].debtors == 1
    assert response.context["totals"].clients == 2


def test_a_treasurer_with_a_movement_on_their_account_is_listed(login, people):
    payment_record(
        membership=people["treasurer"],
        method=PaymentMethod.CASH,
        amount=Decimal("10.00"),
        recorded_by=people["admin"].user,
    )

    response = _page(login, people)

    assert _names(response) == ["Cliente Camille", "Tresoriere Camille"]
    assert response.context["totals"].creditors == 1


def test_a_search_never_brings_back_staff_who_do_not_buy(login, people):
    assert _names(_page(login, people, q="camille")) == ["Cliente Camille"]


def test_the_csv_export_leaves_out_staff_who_do_not_buy(login, people):
    url = reverse("balance_csv", args=[people["client"].market.slug])

    response = login(people["treasurer"]).get(url)

    text = b"".join(response.streaming_content).decode()
    assert "Cliente" in text
    assert "Admine" not in text and "Tresoriere" not in text


def test_the_pdf_export_leaves_out_staff_who_do_not_buy(login, people):
    market = people["client"].market
    browser = login(people["treasurer"])

    browser.post(reverse("balance_pdf", args=[market.slug]))
    run_jobs()

    export = Export.objects.get(market=market)
    response = browser.get(reverse("export_download", args=[market.slug, export.pk]))
    pages = PdfReader(io.BytesIO(b"".join(response.streaming_content))).pages
    text = " ".join(page.extract_text() for page in pages)
    assert "Cliente" in text
    assert "Admine" not in text and "Tresoriere" not in text


def test_other_markets_activity_does_not_list_a_staff_member(login, people, other_market):
    elsewhere = MembershipFactory(market=other_market, user=people["admin"].user)
    _order(elsewhere)

    assert _names(_page(login, people)) == ["Cliente Camille"]
