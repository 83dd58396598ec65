"""« Valider les paniers payés comme déclaré »: the plan, then the bulk validation."""

import io
import itertools
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Role
from distributions import services
from distributions.models import DistributionStatus
from distributions.services import bulk_plan, bulk_validate
from orders.services import basket_read, order_checkout
from payments.ledger import client_account, market_account
from payments.models import AccountKind, PaymentStatus, Transaction, TransactionKind
from payments.services import payment_cancel
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

TOKENS = (f"bulk-{n}" for n in itertools.count(1))


@pytest.fixture(autouse=True)
def ledger_stays_clean(db):
    yield
    call_command("check_ledger", stdout=io.StringIO())


@pytest.fixture
def distribution(market):
    market.payment_methods = ["cash", "cheque", "transfer", "card_terminal", "cagnotte"]
    market.save()
    return DistributionFactory(market=market)


@pytest.fixture
def baskets(market, distribution):
    """Five baskets of 10,00 €, one per way of paying."""
    farm = ProducerFactory(market=market)
    bread = ProductFactory(producer=farm, name="Pain", unit="piece", unit_price=Decimal("5.00"))
    placed = {}
    for n, choice in enumerate(["cash", "cheque", "cagnotte", "on_site", "transfer"]):
        user = UserFactory(first_name=f"Client{n}", last_name=choice)
        member = MembershipFactory(market=market, user=user, role=Role.CLIENT)
        placed[choice] = order_checkout(
            membership=member,
            distribution=distribution,
            lines=basket_read(market, {bread.pk: "2"}),
            choice=choice,
            token=next(TOKENS),
            notify=False,
        )
    return placed


def _bulk_url(distribution):
    return reverse("day_bulk", args=[distribution.market.slug, distribution.pk])


def test_the_plan_lists_the_ready_baskets_and_those_needing_a_decision(distribution, baskets):
    plan = bulk_plan(distribution)
    ready = {order.pk: [p.method for p in payments] for order, payments in plan.ready}
    assert ready == {
        baskets["cash"].pk: ["cash"],
        baskets["cheque"].pk: ["cheque"],
        baskets["cagnotte"].pk: [],
    }
    assert plan.to_receive == Decimal("20.00")
    blocked = {order.pk: reasons for order, reasons in plan.blocked}
    assert blocked == {
        baskets["on_site"].pk: ["moyen de paiement à préciser"],
        baskets["transfer"].pk: ["virement non reçu"],
    }


def test_the_confirmation_page_says_what_will_be_done(login, admin, distribution, baskets):
    response = login(admin).get(_bulk_url(distribution))
    assert response.status_code == 200
    text = response.content.decode().replace("\xa0", " ")
    assert "3 paniers seront validés" in text
    assert "20,00 €" in text
    assert "2 paniers attendent une décision" in text
    assert "moyen de paiement à préciser" in text and "virement non reçu" in text
    on_site = baskets["on_site"]
    assert reverse("day_basket", args=[on_site.market.slug, distribution.pk, on_site.pk]) in text
    assert "Les chèques sont encaissés sans numéro" in text
    # Nothing is done by looking.
    assert not Transaction.objects.filter(kind=TransactionKind.PAYMENT).exists()


def test_bulk_validation_receives_as_declared_and_validates_the_ready_baskets(
    login, admin, market, distribution, baskets
):
    response = login(admin).post(_bulk_url(distribution), follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "day_distribution", args=[market.slug, distribution.pk]
    )
    message = " ".join(str(m) for m in response.context["messages"]).replace("\xa0", " ")
    assert "3 paniers validés, 20,00 € encaissés comme déclaré." in message
    assert "2 paniers attendent une décision." in message

    for choice in ("cash", "cheque", "cagnotte"):
        baskets[choice].refresh_from_db()
        assert baskets[choice].validated_by == admin.user
    for choice in ("on_site", "transfer"):
        baskets[choice].refresh_from_db()
        assert not baskets[choice].is_validated
    cash = baskets["cash"].payments.get()
    assert (cash.status, cash.received_by) == (PaymentStatus.RECEIVED, admin.user)
    assert market_account(market, AccountKind.CASH).balance == Decimal("10.00")
    assert market_account(market, AccountKind.CHEQUES).balance == Decimal("10.00")
    assert client_account(baskets["cash"].membership).held == Decimal("0.00")
    distribution.refresh_from_db()
    assert distribution.status != DistributionStatus.VALIDATED


def test_sending_the_bulk_validation_twice_posts_once(login, admin, distribution, baskets):
    browser = login(admin)
    browser.post(_bulk_url(distribution))
    response = browser.post(_bulk_url(distribution), follow=True)
    message = " ".join(str(m) for m in response.context["messages"])
    assert "Aucun panier n'était prêt à être validé." in message
    assert Transaction.objects.filter(kind=TransactionKind.PAYMENT).count() == 2


def test_the_distribution_is_validated_once_every_basket_is(distribution, baskets, admin):
    for choice in ("on_site", "transfer"):
        for payment in baskets[choice].payments.all():
            payment_cancel(payment=payment, cancelled_by=admin.user)
    done = bulk_validate(distribution=distribution, validated_by=admin.user)
    assert len(done.ready) == 5 and not done.blocked
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.VALIDATED


def test_a_basket_changed_after_the_plan_is_taken_as_it_now_is(
    monkeypatch, distribution, baskets, admin
):
    """Another tab marks the cash basket « non payé » between the plan and the validation."""
    planned = services.bulk_plan

    def plan_then_other_tab(distribution):
        plan = planned(distribution)
        payment_cancel(payment=baskets["cash"].payments.get(), cancelled_by=admin.user)
        return plan

    monkeypatch.setattr(services, "bulk_plan", plan_then_other_tab)
    done = bulk_validate(distribution=distribution, validated_by=admin.user)
    assert baskets["cash"].pk in {order.pk for order, _payments in done.ready}
    assert baskets["cash"].payments.get().status == PaymentStatus.CANCELLED
    assert client_account(baskets["cash"].membership).held == Decimal("-10.00")
    assert done.to_receive == Decimal("10.00")  # the cheque only


def test_only_admins_validate_in_bulk(login, member, treasurer, other_admin, distribution):
    url = _bulk_url(distribution)
    assert login(member).get(url).status_code == 403
    assert login(treasurer).post(url).status_code == 403
    assert login(other_admin).get(url).status_code == 404
