"""A client's account page: recording payments, opening balances and corrections."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from payments.ledger import client_account
from payments.models import Payment, PaymentStatus, Transaction
from payments.services import opening_balance_record, payment_record
from tests.factories import PASSWORD, MembershipFactory

TOKEN = "0123456789abcdef0123456789abcdef"


def _url(name, member, **kwargs):
    return reverse(
        name, kwargs={"market_slug": member.market.slug, "membership_id": member.pk, **kwargs}
    )


def _payment_data(**overrides):
    data = {
        "payment-method": "cheque",
        "payment-amount": "45,50",
        "payment-paid_on": "2026-11-02",
        "payment-reference": "Contrat légumes hiver",
        "payment-cheque_number": "0004567",
        "payment-bank": "La Banque Postale",
        "payment-form_token": TOKEN,
    }
    data.update(overrides)
    return data


def _opening_data(**overrides):
    data = {
        "opening-amount": "-32,40",
        "opening-label": "Reprise de solde",
        "opening-date": "2026-10-01",
        "opening-form_token": TOKEN,
    }
    data.update(overrides)
    return data


def test_treasurer_records_an_amap_cheque_and_the_client_is_credited(login, treasurer, member):
    response = login(treasurer).post(_url("payment_create", member), _payment_data())
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.RECEIVED
    assert (payment.amount, payment.cheque_number, payment.bank) == (
        Decimal("45.50"),
        "0004567",
        "La Banque Postale",
    )
    assert payment.received_by == treasurer.user
    assert client_account(member).held == Decimal("45.50")
    assert payment.transaction.created_by == treasurer.user


def test_submitting_the_same_payment_form_twice_records_it_once(login, treasurer, member):
    browser = login(treasurer)
    browser.post(_url("payment_create", member), _payment_data())
    browser.post(_url("payment_create", member), _payment_data())
    assert Payment.objects.count() == 1
    assert client_account(member).held == Decimal("45.50")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "Le montant doit être positif."),
        ("0", "Le montant ne peut pas être nul."),
        ("quarante", "Saisissez un montant en euros, par exemple 12,50."),
        ("12,345", "Le montant ne peut pas avoir plus de 2 décimales."),
        ("250000", "Le montant ne peut pas dépasser"),
        ("", "Ce champ est obligatoire."),
    ],
)
def test_a_bad_payment_amount_is_explained_and_writes_nothing(
    login, treasurer, member, amount, message
):
    response = login(treasurer).post(
        _url("payment_create", member), _payment_data(**{"payment-amount": amount})
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Transaction.objects.exists()
    assert not Payment.objects.exists()


def test_a_cheque_needs_its_number(login, treasurer, member):
    response = login(treasurer).post(
        _url("payment_create", member), _payment_data(**{"payment-cheque_number": ""})
    )
    assert "Indiquez le numéro du chèque." in response.content.decode()
    assert not Payment.objects.exists()


def test_online_card_cannot_be_recorded_by_hand(login, treasurer, member):
    response = login(treasurer).post(
        _url("payment_create", member), _payment_data(**{"payment-method": "online_card"})
    )
    assert response.status_code == 400
    assert not Payment.objects.exists()


def test_a_payment_dated_in_the_future_is_refused(login, treasurer, member):
    response = login(treasurer).post(
        _url("payment_create", member), _payment_data(**{"payment-paid_on": "2999-01-01"})
    )
    assert "La date ne peut pas être dans le futur." in response.content.decode()
    assert not Payment.objects.exists()


def test_a_forged_form_token_is_refused(login, treasurer, member):
    response = login(treasurer).post(
        _url("payment_create", member), _payment_data(**{"payment-form_token": "x' or 1=1"})
    )
    assert response.status_code == 400
    assert not Payment.objects.exists()


def test_an_opening_balance_can_be_a_debt(login, admin, member):
    response = login(admin).post(_url("opening_balance_create", member), _opening_data())
    assert response.status_code == 302
    assert client_account(member).held == Decimal("-32.40")
    page = login(admin).get(_url("client_history", member)).content.decode()
    assert "Reprise de solde" in page
    assert "-32,40\u00a0€" in page


def test_an_opening_balance_of_zero_is_refused(login, admin, member):
    response = login(admin).post(
        _url("opening_balance_create", member), _opening_data(**{"opening-amount": "0"})
    )
    assert "Le montant ne peut pas être nul." in response.content.decode()
    assert not Transaction.objects.exists()


def test_the_history_shows_each_operation_with_the_running_balance(login, treasurer, member):
    opening_balance_record(
        membership=member, amount=Decimal("-50.00"), label="Reprise", recorded_by=treasurer.user
    )
    payment_record(
        membership=member,
        method="cash",
        amount=Decimal("20.00"),
        recorded_by=treasurer.user,
    )
    page = login(treasurer).get(_url("client_history", member)).content.decode()
    rows = re.findall(r'<tr id="op-\d+".*?</tr>', page, flags=re.S)
    assert len(rows) == 2
    newest, oldest = rows
    assert "Espèces" in newest and "-30,00\u00a0€" in newest
    assert "Reprise" in oldest and "-50,00\u00a0€" in oldest
    assert treasurer.user.display_name in newest


def test_correcting_a_payment_reverses_it_and_cancels_it(login, treasurer, member):
    payment = payment_record(
        membership=member,
        method="cheque",
        amount=Decimal("30.00"),
        recorded_by=treasurer.user,
        cheque_number="12",
    )
    url = _url("transaction_reverse", member, transaction_id=payment.transaction_id)
    browser = login(treasurer)
    response = browser.post(url, {"reason": "Chèque saisi deux fois", "form_token": TOKEN})
    assert response.status_code == 302
    assert client_account(member).held == Decimal("0.00")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    reversal = Transaction.objects.get(reverses=payment.transaction)
    assert reversal.reason == "Chèque saisi deux fois"
    assert reversal.created_by == treasurer.user
    # Once is enough, even with a fresh form.
    browser.post(url, {"reason": "encore", "form_token": "f" * 32})
    assert Transaction.objects.filter(kind="reversal").count() == 1
    assert client_account(member).held == Decimal("0.00")


def test_a_correction_needs_a_reason(login, treasurer, member):
    payment = payment_record(
        membership=member, method="cash", amount=Decimal("5.00"), recorded_by=treasurer.user
    )
    url = _url("transaction_reverse", member, transaction_id=payment.transaction_id)
    response = login(treasurer).post(url, {"reason": "  ", "form_token": TOKEN})
    assert response.status_code == 400
    assert not Transaction.objects.filter(kind="reversal").exists()


def test_another_clients_operation_cannot_be_reversed_through_this_client(
    login, treasurer, member, market
):
    other = MembershipFactory(market=market)
    payment = payment_record(
        membership=other, method="cash", amount=Decimal("5.00"), recorded_by=treasurer.user
    )
    url = _url("transaction_reverse", member, transaction_id=payment.transaction_id)
    response = login(treasurer).post(url, {"reason": "erreur", "form_token": TOKEN})
    assert response.status_code == 404
    assert client_account(other).held == Decimal("5.00")


def test_forms_are_protected_against_cross_site_requests(treasurer, member):
    browser = Client(enforce_csrf_checks=True)
    browser.login(username=treasurer.user.email, password=PASSWORD)
    response = browser.post(_url("payment_create", member), _payment_data())
    assert response.status_code == 403
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("opening", "sentence"),
    [
        ("12.50", "Vous avez un avoir de 12,50\u00a0€."),
        ("-8.00", "Vous devez 8,00\u00a0€ au marché."),
        (None, "Votre compte est à jour."),
    ],
)
def test_my_account_says_the_balance_in_words(login, member, treasurer, opening, sentence):
    if opening:
        opening_balance_record(
            membership=member, amount=Decimal(opening), label="Reprise", recorded_by=treasurer.user
        )
    page = login(member).get(reverse("my_account", args=[member.market.slug])).content.decode()
    assert sentence in page


def test_my_account_shows_only_my_own_operations(login, market, member, treasurer):
    other = MembershipFactory(market=market)
    opening_balance_record(
        membership=other, amount=Decimal("99.00"), label="Autre client", recorded_by=treasurer.user
    )
    opening_balance_record(
        membership=member, amount=Decimal("1.00"), label="Ma reprise", recorded_by=treasurer.user
    )
    page = login(member).get(reverse("my_account", args=[market.slug])).content.decode()
    assert "Ma reprise" in page
    assert "Autre client" not in page
    assert "Annuler" not in page
