"""The basket page never contradicts itself about money: what it pre-fills, what it
says a payment did to the balance, and « Régler avec son avoir »."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from distributions.day.basket_money import BalanceEffect
from payments.ledger import client_account
from payments.models import PaymentRechoice, PaymentStatus, Transaction, TransactionKind
from payments.services import opening_balance_record
from tests.distributions.test_day import (
    _add,
    _client,
    _expected,
    _messages,
    _order,
    _receive,
    _text,
    _url,
)
from tests.distributions.test_day import distribution as distribution_fixture
from tests.distributions.test_day import honey as honey_fixture

distribution = distribution_fixture
honey = honey_fixture


@pytest.fixture(autouse=True)
def ledger_stays_clean(db):
    yield
    call_command("check_ledger", stdout=io.StringIO())


def _holding(market, admin, amount: str):
    """A client who starts with ``amount`` on their account (a credit when positive)."""
    member = _client(market)
    opening_balance_record(
        membership=member, amount=Decimal(amount), label="Reprise", recorded_by=admin.user
    )
    return member


def _settle(browser, order):
    return browser.post(_url("day_settle_from_credit", order))


def _receive_message(browser, order, amount: str) -> str:
    response = _receive(browser, order, method="cash", amount=amount)
    return _messages(browser.get(response.url))


# -- What the « Encaisser » form pre-fills -----------------------------------------------


def test_after_a_second_payment_the_expected_line_prefills_what_is_still_due(
    login, admin, market, distribution, honey
):
    order = _order(_client(market), distribution, honey, "cash")  # 25,00 €
    browser = login(admin)
    _add(browser, order, method="cash", amount="5,00")

    page = browser.get(_url("day_basket", order))

    ((payment, form),) = page.context["expected"]
    assert form["amount"].value() == "20,00"
    assert "reste 20,00 € à encaisser" in _text(page)


def test_an_expected_line_the_other_payments_settle_prefills_nothing(
    login, admin, market, distribution, honey
):
    order = _order(_client(market), distribution, honey, "cash")
    browser = login(admin)
    _add(browser, order, method="cheque", amount="25,00", cheque_number="123")

    page = browser.get(_url("day_basket", order))

    ((payment, form),) = page.context["expected"]
    assert form["amount"].value() in (None, "")
    assert "ce paiement n'est plus attendu" in _text(page)


def test_receiving_what_the_page_prefilled_is_no_shortfall(
    login, admin, market, distribution, honey
):
    order = _order(_client(market), distribution, honey, "cash")
    browser = login(admin)
    _add(browser, order, method="cash", amount="5,00")

    message = _receive_message(browser, order, "20,00")

    assert "moins que prévu" not in message and "plus que prévu" not in message


# -- What a payment did to the balance ----------------------------------------------------


def test_an_excess_that_pays_an_older_debt_says_so(login, admin, market, distribution, honey):
    member = _holding(market, admin, "-10.00")
    order = _order(member, distribution, honey, "cash")

    message = _receive_message(login(admin), order, "30,00")

    assert "5,00 € de plus que prévu" in message
    assert "règle une dette plus ancienne du client, qui doit encore 5,00 €" in message
    assert "reste en avoir" not in message
    assert client_account(member).held == Decimal("-5.00")


def test_an_excess_split_between_an_older_debt_and_credit_says_both(
    login, admin, market, distribution, honey
):
    member = _holding(market, admin, "-10.00")
    order = _order(member, distribution, honey, "cash")

    message = _receive_message(login(admin), order, "40,00")

    assert "15,00 € de plus que prévu : 10,00 € règlent une dette plus ancienne" in message
    assert "5,00 € restent en avoir" in message


def test_a_shortfall_the_credit_covers_says_it_is_covered(
    login, admin, market, distribution, honey
):
    member = _holding(market, admin, "3.00")
    order = _order(member, distribution, honey, "cash")

    message = _receive_message(login(admin), order, "20,00")

    assert "5,00 € de moins que prévu : l'avoir du client en couvre 3,00 €" in message
    assert "il doit maintenant 2,00 €" in message


@pytest.mark.parametrize(
    ("expected", "received", "before", "sentence"),
    [
        ("25", "30", "-25", "5,00 € de plus que prévu : la différence reste en avoir du client"),
        ("25", "35", "-35", "la différence règle une dette plus ancienne du client, qui est"),
        ("25", "20", "5", "l'avoir du client couvre la différence (avoir restant : 25,00 €)"),
        ("25", "10", "-25", "la différence reste due par le client, qui doit maintenant 15,00"),
        ("25", "25", "-40", ""),
    ],
)
def test_each_difference_is_told_from_the_balance_before_and_after(
    expected, received, before, sentence
):
    received, before = Decimal(received), Decimal(before)
    effect = BalanceEffect(Decimal(expected), received, before, before + received)
    assert sentence in effect.sentence().replace("\xa0", " ")
    assert bool(effect.sentence()) == bool(sentence)


# -- « Régler avec son avoir » -----------------------------------------------------------


def test_a_client_whose_credit_covers_the_basket_is_offered_to_settle_with_it(
    login, admin, market, distribution, honey
):
    order = _order(_holding(market, admin, "30.00"), distribution, honey, "cash")

    page = login(admin).get(_url("day_basket", order))

    assert page.context["settle_from_credit"]
    text = _text(page)
    assert "Le solde du client couvre ce panier" in text
    assert "il lui reste 5,00 € d'avoir. Il n'a rien à payer." in text
    assert "couvert par son avoir" in text
    assert not page.context["show_refund"]
    assert (
        reverse("day_settle_from_credit", args=[market.slug, distribution.pk, order.pk])
        in page.content.decode()
    )


def test_settling_with_the_credit_posts_nothing_and_clears_what_is_due(
    login, admin, member, market, distribution, honey
):
    client = _holding(market, admin, "30.00")
    order = _order(client, distribution, honey, "cash")
    payment = _expected(order)
    browser = login(admin)

    response = _settle(browser, order)

    assert "réglé avec l'avoir du client" in _messages(browser.get(response.url))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    assert PaymentRechoice.objects.get(replaced=payment).chosen_by == admin.user
    assert not Transaction.objects.filter(kind=TransactionKind.PAYMENT).exists()
    assert client_account(client).held == Decimal("5.00")
    page = browser.get(_url("day_basket", order))
    assert page.context["order"].due == Decimal("0.00")
    assert page.context["blockers"] == []
    assert not page.context["settle_from_credit"]


def test_the_client_then_reads_the_basket_as_paid_with_the_balance(
    login, admin, market, distribution, honey
):
    client = _holding(market, admin, "30.00")
    order = _order(client, distribution, honey, "cash")
    _settle(login(admin), order)

    page = login(client).get(reverse("order_detail", args=[market.slug, order.pk]))

    assert [(i.kind, i.amount) for i in page.context["instructions"]] == [
        ("cagnotte", Decimal("25.00"))
    ]


def test_settling_twice_is_harmless(login, admin, market, distribution, honey):
    client = _holding(market, admin, "30.00")
    order = _order(client, distribution, honey, "cash")
    browser = login(admin)
    _settle(browser, order)

    response = _settle(browser, order)

    assert "déjà réglé avec le solde du client" in _messages(browser.get(response.url))
    assert PaymentRechoice.objects.count() == 1


def test_a_payment_marked_not_paid_is_settled_with_the_credit_too(
    login, admin, market, distribution, honey
):
    client = _holding(market, admin, "30.00")
    order = _order(client, distribution, honey, "cash")
    browser = login(admin)
    browser.post(_url("day_payment_cancel", order, _expected(order).pk))
    page = browser.get(_url("day_basket", order))
    assert page.context["order"].due == Decimal("25.00")
    assert page.context["settle_from_credit"]

    _settle(browser, order)

    page = browser.get(_url("day_basket", order))
    assert page.context["order"].due == Decimal("0.00")
    detail = login(client).get(reverse("order_detail", args=[market.slug, order.pk]))
    assert [i.kind for i in detail.context["instructions"]] == ["cagnotte"]


def test_an_online_payment_still_expected_is_not_settled_with_the_credit(
    login, admin, market, distribution, honey
):
    order = _order(_holding(market, admin, "30.00"), distribution, honey, "cash")
    order.payments.update(method="online_card")
    browser = login(admin)
    assert not browser.get(_url("day_basket", order)).context["settle_from_credit"]

    response = _settle(browser, order)

    assert "Un paiement en ligne est attendu" in _messages(browser.get(response.url))
    assert _expected(order).status == PaymentStatus.PENDING


def test_a_client_in_debt_is_not_offered_the_credit_and_settling_is_refused(
    login, admin, market, distribution, honey
):
    client = _holding(market, admin, "10.00")
    order = _order(client, distribution, honey, "cash")
    browser = login(admin)
    assert not browser.get(_url("day_basket", order)).context["settle_from_credit"]

    response = _settle(browser, order)

    assert "ne couvre plus ce panier (il doit 15,00 €)" in _messages(browser.get(response.url))
    assert _expected(order).status == PaymentStatus.PENDING
