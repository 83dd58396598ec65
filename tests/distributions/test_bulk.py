"""« Valider les paniers payés comme déclaré »: the plan, then the bulk validation."""

import io
import itertools
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Role
from distributions.day import bulk, pickup
from distributions.day.bulk import bulk_plan, bulk_validate
from distributions.models import DistributionStatus
from orders.services import basket_read, order_checkout
from payments.ledger import account_balance, client_account, market_account
from payments.models import AccountKind, PaymentStatus, Transaction, TransactionKind
from payments.services import payment_cancel
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.threads import run_together

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


def _listed(distribution) -> list[int]:
    """The baskets the confirmation page lists, as its form sends them back."""
    return [order.pk for order, _payments in bulk_plan(distribution).ready]


def _shown_payments(distribution) -> list[int]:
    return [p.pk for _order, payments in bulk_plan(distribution).ready for p in payments]


def _confirm(browser, distribution, **cheques):
    """Send the confirmation form as shown: its baskets, its payments, the cheque numbers."""
    data = {
        "order": [str(pk) for pk in _listed(distribution)],
        "payment": [str(pk) for pk in _shown_payments(distribution)],
        **cheques,
    }
    return browser.post(_bulk_url(distribution), data, follow=True)


def _cheque_field(baskets) -> str:
    return f"cheque-{baskets['cheque'].payments.get().pk}"


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
    assert "Saisissez le numéro de chaque chèque" in text
    assert f'name="{_cheque_field(baskets)}"' in text
    listed = re.search(r'name="order" value="([^"]*)"', text).group(1).split()
    assert listed == [str(baskets[choice].pk) for choice in ("cash", "cheque", "cagnotte")]
    # Nothing is done by looking.
    assert not Transaction.objects.filter(kind=TransactionKind.PAYMENT).exists()


def test_bulk_validation_receives_as_declared_and_validates_the_ready_baskets(
    login, admin, market, distribution, baskets
):
    response = _confirm(login(admin), distribution, **{_cheque_field(baskets): "0012345"})
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
    assert account_balance(market_account(market, AccountKind.CASH)) == Decimal("10.00")
    assert account_balance(market_account(market, AccountKind.CHEQUES)) == Decimal("10.00")
    assert baskets["cheque"].payments.get().cheque_number == "0012345"
    assert client_account(baskets["cash"].membership).held == Decimal("0.00")
    distribution.refresh_from_db()
    assert distribution.status != DistributionStatus.VALIDATED


def test_sending_the_bulk_validation_twice_posts_once(login, admin, distribution, baskets):
    browser = login(admin)
    data = {
        "order": [str(pk) for pk in _listed(distribution)],
        "payment": [str(pk) for pk in _shown_payments(distribution)],
        _cheque_field(baskets): "77",
    }
    browser.post(_bulk_url(distribution), data)
    response = browser.post(_bulk_url(distribution), data, follow=True)
    message = " ".join(str(m) for m in response.context["messages"])
    assert "Aucun panier n'était prêt à être validé." in message
    assert Transaction.objects.filter(kind=TransactionKind.PAYMENT).count() == 2


def test_the_distribution_is_validated_once_every_basket_is(distribution, baskets, admin):
    for choice in ("on_site", "transfer"):
        for payment in baskets[choice].payments.all():
            payment_cancel(payment=payment, cancelled_by=admin.user)
    distribution.status = DistributionStatus.CLOSED
    distribution.save()
    done = bulk_validate(
        distribution=distribution,
        validated_by=admin.user,
        order_ids=_listed(distribution),
        cheques={baskets["cheque"].payments.get().pk: ("0012345", "")},
    )
    assert len(done.ready) == 5 and not done.blocked
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.VALIDATED


def test_a_basket_changed_after_the_plan_is_taken_as_it_now_is(
    monkeypatch, distribution, baskets, admin
):
    """Another tab marks the cash basket « non payé » between the plan and the validation."""
    planned = bulk.bulk_plan

    def plan_then_other_tab(distribution):
        plan = planned(distribution)
        payment_cancel(payment=baskets["cash"].payments.get(), cancelled_by=admin.user)
        return plan

    listed = _listed(distribution)
    monkeypatch.setattr(bulk, "bulk_plan", plan_then_other_tab)
    done = bulk_validate(
        distribution=distribution,
        validated_by=admin.user,
        order_ids=listed,
        cheques={baskets["cheque"].payments.get().pk: ("0012345", "")},
    )
    assert baskets["cash"].pk in {order.pk for order, _payments in done.ready}
    assert baskets["cash"].payments.get().status == PaymentStatus.CANCELLED
    assert client_account(baskets["cash"].membership).held == Decimal("-10.00")
    assert done.to_receive == Decimal("10.00")  # the cheque only


def test_only_admins_validate_in_bulk(login, member, treasurer, other_admin, distribution):
    url = _bulk_url(distribution)
    assert login(member).get(url).status_code == 403
    assert login(treasurer).post(url).status_code == 403
    assert login(other_admin).get(url).status_code == 404


def test_a_cheque_left_without_its_number_keeps_its_basket_to_validate(
    login, admin, distribution, baskets
):
    response = _confirm(login(admin), distribution, **{_cheque_field(baskets): "  "})

    message = " ".join(str(m) for m in response.context["messages"]).replace("\xa0", " ")
    assert "2 paniers validés, 10,00 € encaissés comme déclaré." in message
    cheque = baskets["cheque"]
    cheque.refresh_from_db()
    assert not cheque.is_validated
    assert cheque.payments.get().status == PaymentStatus.PENDING


def test_only_the_baskets_the_page_listed_are_validated(
    login, admin, market, distribution, baskets
):
    """A basket that became ready after the page was shown waits for the next confirmation."""
    shown = _listed(distribution)
    payments = _shown_payments(distribution)
    late = baskets["on_site"].payments.get()
    late.method = "cash"  # decided in another tab after the page was shown
    late.save()
    data = {
        "order": [str(pk) for pk in shown],
        "payment": [str(pk) for pk in payments],
        _cheque_field(baskets): "12",
        "order-x": "1",
    }

    login(admin).post(_bulk_url(distribution), data)

    baskets["on_site"].refresh_from_db()
    assert not baskets["on_site"].is_validated
    assert late.__class__.objects.get(pk=late.pk).status == PaymentStatus.PENDING
    assert account_balance(market_account(market, AccountKind.CASH)) == Decimal("10.00")


def test_validating_every_basket_while_orders_are_open_keeps_the_distribution_open(
    login, admin, distribution, baskets
):
    for choice in ("on_site", "transfer"):
        for payment in baskets[choice].payments.all():
            payment_cancel(payment=payment, cancelled_by=admin.user)
    browser = login(admin)
    _confirm(browser, distribution, **{_cheque_field(baskets): "12"})

    distribution.refresh_from_db()
    assert distribution.is_open_for_orders()  # other clients may still order
    assert not distribution.orders.filter(validated_at__isnull=True).exists()

    close = reverse("distribution_close", args=[distribution.market.slug, distribution.pk])
    browser.post(close, {})
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.VALIDATED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_bulk_validation_racing_single_confirmations_posts_each_payment_once(
    market, admin, distribution, baskets
):
    """Two volunteers: one validates in bulk while others confirm the cash basket by hand."""
    listed = _listed(distribution)
    cash = baskets["cash"].payments.get()
    cheques = {baskets["cheque"].payments.get().pk: ("0012345", "")}

    def work(i):
        if i == 0:
            return bulk.bulk_validate(
                distribution=distribution,
                validated_by=admin.user,
                order_ids=listed,
                cheques=cheques,
            )
        return pickup.basket_payment_receive(
            order=baskets["cash"],
            payment=cash,
            received_by=admin.user,
            method="cash",
            amount=Decimal("10.00"),
        )

    _results, errors = run_together(work, threads=4)

    assert all(isinstance(error, pickup.BasketLocked) for error in errors), errors
    assert Transaction.objects.filter(kind=TransactionKind.PAYMENT).count() == 2
    assert account_balance(market_account(market, AccountKind.CASH)) == Decimal("10.00")
    for choice in ("cash", "cheque", "cagnotte"):
        baskets[choice].refresh_from_db()
        assert baskets[choice].is_validated


def test_a_basket_whose_expected_payments_changed_since_the_page_waits(
    login, admin, member, market, distribution, baskets
):
    """The page showed the cash basket's 10,00 €; an addition then asked 5,00 € more."""
    data = {
        "order": [str(pk) for pk in _listed(distribution)],
        "payment": [str(pk) for pk in _shown_payments(distribution)],
        _cheque_field(baskets): "12",
    }
    cash = baskets["cash"]
    extra = cash.payments.get()
    extra.pk = None
    extra.amount = Decimal("5.00")
    extra.reference = f"{extra.reference}-2"
    extra.save()

    response = login(admin).post(_bulk_url(distribution), data, follow=True)

    cash.refresh_from_db()
    assert not cash.is_validated
    assert not cash.payments.filter(status=PaymentStatus.RECEIVED).exists()
    assert "2 paniers validés" in " ".join(str(m) for m in response.context["messages"])


@pytest.mark.parametrize("forged", ["²", "-1", "1e3", "99999999999999999999999", "abc"])
def test_forged_ids_in_the_bulk_form_are_ignored(login, admin, distribution, baskets, forged):
    response = login(admin).post(
        _bulk_url(distribution), {"order": forged, "payment": forged, f"cheque-{forged}": "1"}
    )

    assert response.status_code == 302
    assert not Transaction.objects.filter(kind=TransactionKind.PAYMENT).exists()
