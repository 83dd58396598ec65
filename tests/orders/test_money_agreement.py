"""The distribution page, « Encaissements » and « Mes commandes » read the same money."""

from decimal import Decimal

import pytest
from django.urls import reverse

from distributions.models import DistributionStatus
from orders.services import basket_read, order_checkout
from payments.ledger import Leg, client_account, market_account, transaction_post
from payments.models import AccountKind, PaymentStatus, TransactionKind
from payments.services import payment_receive, refund_record
from tests.factories import MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vegetables(market):
    farm = ProducerFactory(market=market, name="Ferme des Trois Chênes")
    return ProductFactory(producer=farm, name="Légumes", unit_price=Decimal("1.00"))


@pytest.fixture
def every_method(market, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_configured"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_configured"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_configured"
    market.payment_methods = ["cheque", "cash", "transfer", "online_card", "cagnotte"]
    market.save()
    return market


def _order(market, distribution, product, kg: str, choice: str):
    member = MembershipFactory(market=market)
    return order_checkout(
        membership=member,
        distribution=distribution,
        lines=basket_read(market, {product.pk: kg}),
        choice=choice,
        token=f"t-{member.pk}",
        notify=False,
    )


def _receive(order, by, amount: str | None = None):
    payment = order.payments.get(status=PaymentStatus.PENDING)
    changes = {} if amount is None else {"amount": Decimal(amount)}
    return payment_receive(payment=payment, received_by=by.user, **changes)


def _refund_to_the_card(order, amount: str) -> None:
    """Money gone back to the card, posted as Stripe's refund posts it."""
    market = order.membership.market
    transaction_post(
        market=market,
        kind=TransactionKind.REFUND,
        label="Remboursement carte bancaire en ligne",
        legs=[
            Leg(client_account(order.membership), Decimal(amount)),
            Leg(market_account(market, AccountKind.ONLINE), -Decimal(amount)),
        ],
        order=order,
    )


@pytest.fixture
def day(market, admin, vegetables, every_method):
    """Partial payments, over-payments, refunds in cash and to the card, one still expected."""
    distribution = DistributionFactory(market=market)
    orders = {
        "partial": _order(market, distribution, vegetables, "12.6", "cash"),
        "over": _order(market, distribution, vegetables, "15", "cheque"),
        "over_then_cash_back": _order(market, distribution, vegetables, "8", "cash"),
        "card_refunded": _order(market, distribution, vegetables, "14", "online_card"),
        "card_refunded_whole": _order(market, distribution, vegetables, "6", "online_card"),
        "expected": _order(market, distribution, vegetables, "9", "transfer"),
        "exact": _order(market, distribution, vegetables, "7.5", "cheque"),
    }
    distribution.status = DistributionStatus.CLOSED
    distribution.save()
    _receive(orders["partial"], admin, "10.00")
    _receive(orders["over"], admin, "20.00")
    _receive(orders["over_then_cash_back"], admin, "10.00")
    refund_record(
        membership=orders["over_then_cash_back"].membership,
        amount=Decimal("2.00"),
        refunded_by=admin.user,
        order=orders["over_then_cash_back"],
    )
    _receive(orders["card_refunded"], admin)
    _refund_to_the_card(orders["card_refunded"], "5.00")
    _receive(orders["card_refunded_whole"], admin)
    _refund_to_the_card(orders["card_refunded_whole"], "6.00")
    _receive(orders["exact"], admin)
    return distribution, orders


RECEIVED = {
    "partial": Decimal("10.00"),
    "over": Decimal("20.00"),
    "over_then_cash_back": Decimal("8.00"),
    "card_refunded": Decimal("9.00"),
    "card_refunded_whole": Decimal("0.00"),
    "expected": Decimal("0.00"),
    "exact": Decimal("7.50"),
}


def _distribution_page(login, admin, distribution):
    url = reverse("day_distribution", args=[admin.market.slug, distribution.pk])
    return login(admin).get(url).context


def _encaissements(login, admin, distribution):
    url = reverse("cash_summary", args=[admin.market.slug, distribution.pk])
    return login(admin).get(url).context["summary"]


def _my_orders_received(login, order) -> Decimal:
    page = login(order.membership).get(reverse("my_orders", args=[order.market.slug]))
    (shown,) = [o for o in page.context["orders"] if o.pk == order.pk]
    return shown.received


def test_the_distribution_page_encaissements_and_my_orders_agree_on_each_basket(login, admin, day):
    distribution, orders = day
    page = _distribution_page(login, admin, distribution)
    summary = _encaissements(login, admin, distribution)

    on_page = {row.pk: row.received for row in page["rows"]}
    in_gaps = {gap.order_id: gap.received for gap in summary.gaps}
    for key, order in orders.items():
        assert on_page[order.pk] == RECEIVED[key], key
        assert in_gaps.get(order.pk, order.total) == RECEIVED[key], key
        assert _my_orders_received(login, order) == RECEIVED[key], key


def test_the_distribution_page_and_encaissements_agree_on_the_day_received(login, admin, day):
    distribution, _orders = day
    totals = _distribution_page(login, admin, distribution)["totals"]
    summary = _encaissements(login, admin, distribution)

    assert totals["received_total"] == sum(RECEIVED.values()) == Decimal("54.50")
    assert summary.net_received == totals["received_total"]


def test_the_distribution_page_and_encaissements_agree_on_what_is_still_due(login, admin, day):
    distribution, orders = day
    page = _distribution_page(login, admin, distribution)
    summary = _encaissements(login, admin, distribution)

    still_owed = sum((-gap.difference for gap in summary.gaps if gap.difference < 0), Decimal(0))
    assert page["totals"]["due_total"] == still_owed == Decimal("22.60")
    expected = {gap.order_id: gap.pending for gap in summary.gaps}
    assert expected[orders["expected"].pk] == Decimal("9.00")
