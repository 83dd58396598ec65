"""A client's account page: recording payments, opening balances and corrections."""

import html
import re
import uuid
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from distributions.day.pickup import basket_payment_receive
from orders.services import basket_read, order_checkout
from payments.ledger import Leg, client_account, market_account, transaction_post
from payments.models import AccountKind, Payment, PaymentStatus, Transaction, TransactionKind
from payments.services import (
    CorrectionRefused,
    opening_balance_record,
    payment_record,
    refund_record,
    transaction_correct,
)
from payments.views.clients import HISTORY_PAGE_SIZE
from tests.factories import PASSWORD, MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

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


OTHER_TOKEN = "fedcba9876543210fedcba9876543210"


def test_the_same_cheque_sent_again_from_a_new_form_is_refused(login, treasurer, member):
    browser = login(treasurer)
    browser.post(_url("payment_create", member), _payment_data())

    response = browser.post(
        _url("payment_create", member),
        _payment_data(
            **{
                "payment-form_token": OTHER_TOKEN,
                "payment-cheque_number": " 000 4567 ",
                "payment-bank": "la banque  postale",
            }
        ),
    )

    assert response.status_code == 400
    today = timezone.localdate()
    assert (
        f"Le chèque n° 0004567 de ce client est déjà enregistré (le {today:%d/%m/%Y})."
        in html.unescape(response.content.decode())
    )
    assert Payment.objects.count() == 1
    assert client_account(member).held == Decimal("45.50")


def test_a_cheque_of_the_same_number_from_another_bank_is_accepted(login, treasurer, member):
    browser = login(treasurer)
    browser.post(_url("payment_create", member), _payment_data())

    response = browser.post(
        _url("payment_create", member),
        _payment_data(**{"payment-form_token": OTHER_TOKEN, "payment-bank": "Crédit Agricole"}),
    )

    assert response.status_code == 302
    assert Payment.objects.count() == 2


def test_a_reversed_cheque_can_be_entered_again(login, treasurer, member):
    browser = login(treasurer)
    browser.post(_url("payment_create", member), _payment_data())
    transaction_correct(
        txn=Payment.objects.get().transaction, reason="Mauvais montant", corrected_by=None
    )

    response = browser.post(
        _url("payment_create", member), _payment_data(**{"payment-form_token": OTHER_TOKEN})
    )

    assert response.status_code == 302
    assert Payment.objects.filter(status=PaymentStatus.RECEIVED).count() == 1
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


def _text(response) -> str:
    return html.unescape(response.content.decode()).replace("\xa0", " ")


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def _row(page: str, txn) -> str:
    return re.search(rf'<tr id="op-{txn.pk}".*?</tr>', page, flags=re.S).group()


# -- The reprise (opening balance) form ----------------------------------------------


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("100000,01", "Le montant ne peut pas dépasser"),
        ("-250000", "Le montant ne peut pas dépasser"),
        ("12,345", "Le montant ne peut pas avoir plus de 2 décimales."),
        ("douze euros", "Saisissez un montant en euros, par exemple 12,50."),
        ("", "Ce champ est obligatoire."),
    ],
)
def test_a_bad_opening_balance_amount_is_explained_and_writes_nothing(
    login, admin, member, amount, message
):
    response = login(admin).post(
        _url("opening_balance_create", member), _opening_data(**{"opening-amount": amount})
    )

    assert response.status_code == 400
    assert message in _text(response)
    assert not Transaction.objects.exists()


def test_submitting_the_same_opening_balance_form_twice_records_it_once(login, admin, member):
    browser = login(admin)

    browser.post(_url("opening_balance_create", member), _opening_data())
    browser.post(_url("opening_balance_create", member), _opening_data())

    assert Transaction.objects.count() == 1
    assert client_account(member).held == Decimal("-32.40")


# -- Dates ---------------------------------------------------------------------------


@pytest.mark.parametrize("date", ["0001-01-01", "1900-06-15", "1999-12-31"])
def test_an_opening_balance_dated_before_2000_is_refused(login, admin, member, date):
    response = login(admin).post(
        _url("opening_balance_create", member), _opening_data(**{"opening-date": date})
    )

    assert response.status_code == 400
    assert "La date ne peut pas être antérieure au 1er janvier 2000." in _text(response)
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("date", ["0001-01-01", "1900-06-15"])
def test_a_payment_dated_before_2000_is_refused(login, treasurer, member, date):
    response = login(treasurer).post(
        _url("payment_create", member), _payment_data(**{"payment-paid_on": date})
    )

    assert response.status_code == 400
    assert "La date ne peut pas être antérieure au 1er janvier 2000." in _text(response)
    assert not Payment.objects.exists()


def test_the_first_of_january_2000_is_a_valid_date(login, admin, member):
    response = login(admin).post(
        _url("opening_balance_create", member), _opening_data(**{"opening-date": "2000-01-01"})
    )

    assert response.status_code == 302
    assert Transaction.objects.get().date.isoformat() == "2000-01-01"


# -- The one-time form token ---------------------------------------------------------


@pytest.mark.parametrize("token", ["", "x' or 1=1"])
def test_a_missing_or_forged_token_is_explained_above_the_form(login, treasurer, member, token):
    response = login(treasurer).post(
        _url("payment_create", member), _payment_data(**{"payment-form_token": token})
    )

    assert response.status_code == 400
    assert "Formulaire expiré : rechargez la page et recommencez." in _text(response)
    assert not Payment.objects.exists()


def test_a_reversal_with_a_forged_token_is_explained_in_its_row(login, treasurer, member):
    payment = payment_record(
        membership=member, method="cash", amount=Decimal("5.00"), recorded_by=treasurer.user
    )
    url = _url("transaction_reverse", member, transaction_id=payment.transaction_id)

    response = login(treasurer).post(url, {"reason": "Doublon", "form_token": "forgé"})

    assert response.status_code == 400
    row = _row(_text(response), payment.transaction)
    assert "<details" in row and " open>" in row
    assert "Formulaire expiré : rechargez la page et recommencez." in row
    assert 'value="forgé"' not in row  # a fresh token to try again with
    assert not Transaction.objects.filter(kind="reversal").exists()


# -- A refused reversal shows its errors ---------------------------------------------


def test_a_reason_made_of_spaces_is_refused_with_a_visible_message(login, treasurer, member):
    payment = payment_record(
        membership=member, method="cash", amount=Decimal("5.00"), recorded_by=treasurer.user
    )
    url = _url("transaction_reverse", member, transaction_id=payment.transaction_id)

    response = login(treasurer).post(url, {"reason": "   ", "form_token": TOKEN})

    assert response.status_code == 400
    row = _row(_text(response), payment.transaction)
    assert re.search(r"<details[^>]* open>", row)
    assert "Indiquez pourquoi vous annulez cette opération." in row
    assert not Transaction.objects.filter(kind="reversal").exists()


def test_only_the_row_with_the_errors_is_opened(login, treasurer, member):
    first = payment_record(
        membership=member, method="cash", amount=Decimal("5.00"), recorded_by=treasurer.user
    )
    second = payment_record(
        membership=member, method="cash", amount=Decimal("6.00"), recorded_by=treasurer.user
    )
    url = _url("transaction_reverse", member, transaction_id=first.transaction_id)

    page = _text(login(treasurer).post(url, {"reason": "", "form_token": TOKEN}))

    assert re.search(r"<details[^>]* open>", _row(page, first.transaction))
    assert not re.search(r"<details[^>]* open>", _row(page, second.transaction))


def test_a_refused_reversal_is_shown_on_the_history_page_holding_its_row(login, treasurer, member):
    payment = payment_record(
        membership=member, method="cash", amount=Decimal("5.00"), recorded_by=treasurer.user
    )
    _openings(member, treasurer.user, HISTORY_PAGE_SIZE)  # pushes the payment to page 2
    url = _url("transaction_reverse", member, transaction_id=payment.transaction_id)

    response = login(treasurer).post(url, {"reason": " ", "form_token": TOKEN})

    assert response.context["page"].number == 2
    assert "Indiquez pourquoi vous annulez cette opération." in _row(
        _text(response), payment.transaction
    )


# -- What « Annuler » may reverse ----------------------------------------------------


@pytest.fixture
def order(member):
    """A 25,00 € basket to pay by cheque: its debit is posted, its payment expected."""
    market = member.market
    farm = ProducerFactory(market=market, name="Rucher de la Vallée")
    honey = ProductFactory(producer=farm, name="Miel", unit="piece", unit_price=Decimal("12.50"))
    return order_checkout(
        membership=member,
        distribution=DistributionFactory(market=market),
        lines=basket_read(market, {honey.pk: "2"}),
        choice="cheque",
        token=uuid.uuid4().hex,
        notify=False,
    )


def _openings(member, by, count):
    for n in range(count):
        opening_balance_record(
            membership=member, amount=Decimal("1.00"), label=f"Report {n}", recorded_by=by
        )


def _online_refund(member, amount: Decimal):
    """A refund to the card, as posted once Stripe confirms it."""
    txn, _ = transaction_post(
        market=member.market,
        kind=TransactionKind.REFUND,
        label="Remboursement carte bancaire en ligne",
        legs=[
            Leg(client_account(member), amount),
            Leg(market_account(member.market, AccountKind.ONLINE), -amount),
        ],
    )
    return txn


def test_an_orders_debit_cannot_be_reversed(order, treasurer):
    debit = order.transactions.get(kind=TransactionKind.ORDER)

    with pytest.raises(CorrectionRefused, match="modifiez la commande"):
        transaction_correct(txn=debit, reason="Erreur", corrected_by=treasurer.user)

    order.refresh_from_db()
    assert order.total == Decimal("25.00")
    assert order.payments.get().status == PaymentStatus.PENDING
    assert not Transaction.objects.filter(kind=TransactionKind.REVERSAL).exists()


def test_an_order_adjustment_cannot_be_reversed(order, treasurer):
    member = order.membership
    adjustment, _ = transaction_post(
        market=member.market,
        kind=TransactionKind.ORDER_ADJUSTMENT,
        label="Ajustement de commande panier n° 1",
        legs=[
            Leg(client_account(member), Decimal("-2.50")),
            Leg(market_account(member.market, AccountKind.CASH), Decimal("2.50")),
        ],
        order=order,
    )

    with pytest.raises(CorrectionRefused, match="modifiez à nouveau la commande"):
        transaction_correct(txn=adjustment, reason="Erreur", corrected_by=treasurer.user)


def test_an_online_card_payment_cannot_be_reversed(member, treasurer):
    payment = payment_record(
        membership=member, method="online_card", amount=Decimal("25.00"), recorded_by=None
    )

    with pytest.raises(CorrectionRefused, match="Remboursez-le depuis la page du panier"):
        transaction_correct(txn=payment.transaction, reason="Erreur", corrected_by=treasurer.user)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.RECEIVED
    assert client_account(member).held == Decimal("25.00")


def test_a_refund_to_the_card_cannot_be_reversed(member, treasurer):
    refund = _online_refund(member, Decimal("5.00"))

    with pytest.raises(CorrectionRefused, match="Stripe a rendu l'argent"):
        transaction_correct(txn=refund, reason="Erreur", corrected_by=treasurer.user)


def test_cash_given_back_by_mistake_is_still_reversed(member, treasurer):
    opening_balance_record(
        membership=member, amount=Decimal("10.00"), label="Avoir", recorded_by=treasurer.user
    )
    refund = refund_record(membership=member, amount=Decimal("4.00"), refunded_by=treasurer.user)

    transaction_correct(txn=refund, reason="Saisi par erreur", corrected_by=treasurer.user)

    assert client_account(member).held == Decimal("10.00")


def test_an_opening_balance_is_still_reversed(member, treasurer):
    opening = opening_balance_record(
        membership=member, amount=Decimal("-8.00"), label="Reprise", recorded_by=treasurer.user
    )

    transaction_correct(txn=opening, reason="Mauvais client", corrected_by=treasurer.user)

    assert client_account(member).held == Decimal("0.00")


def test_a_payment_received_at_the_distribution_is_still_reversed(order, admin):
    payment = basket_payment_receive(
        order=order,
        payment=order.payments.get(),
        received_by=admin.user,
        method="cheque",
        amount=Decimal("25.00"),
        cheque_number="77",
    )

    transaction_correct(txn=payment.transaction, reason="Chèque refusé", corrected_by=admin.user)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    assert client_account(order.membership).held == Decimal("-25.00")


def test_posting_a_reversal_of_an_orders_debit_is_refused_with_a_message(login, order, treasurer):
    member = order.membership
    debit = order.transactions.get(kind=TransactionKind.ORDER)
    url = _url("transaction_reverse", member, transaction_id=debit.pk)

    response = login(treasurer).post(url, {"reason": "Erreur", "form_token": TOKEN}, follow=True)

    assert "Une commande ne s'annule pas depuis l'historique" in _messages(response)
    assert not Transaction.objects.filter(kind=TransactionKind.REVERSAL).exists()
    assert client_account(member).held == Decimal("-25.00")


def test_posting_a_reversal_of_an_online_payment_is_refused_with_a_message(
    login, member, treasurer
):
    payment = payment_record(
        membership=member, method="online_card", amount=Decimal("25.00"), recorded_by=None
    )
    url = _url("transaction_reverse", member, transaction_id=payment.transaction_id)

    response = login(treasurer).post(url, {"reason": "Erreur", "form_token": TOKEN}, follow=True)

    assert "Un paiement en ligne ne s'annule pas" in _messages(response)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.RECEIVED
    assert not Transaction.objects.filter(kind=TransactionKind.REVERSAL).exists()


def test_annuler_is_offered_only_where_a_reversal_is_sound(login, order, treasurer):
    member = order.membership
    cash = payment_record(
        membership=member, method="cash", amount=Decimal("5.00"), recorded_by=treasurer.user
    )
    online = payment_record(
        membership=member, method="online_card", amount=Decimal("5.00"), recorded_by=None
    )
    debit = order.transactions.get(kind=TransactionKind.ORDER)

    page = _text(login(treasurer).get(_url("client_history", member)))

    assert "Confirmer l'annulation" in _row(page, cash.transaction)
    assert "Confirmer l'annulation" not in _row(page, online.transaction)
    assert "Confirmer l'annulation" not in _row(page, debit)


# -- Links from the history ----------------------------------------------------------


def test_a_treasurer_follows_a_basket_to_its_distribution_page(login, order, treasurer):
    debit = order.transactions.get(kind=TransactionKind.ORDER)
    basket = reverse("day_basket", args=[order.market.slug, order.distribution_id, order.pk])

    browser = login(treasurer)
    row = _row(_text(browser.get(_url("client_history", order.membership))), debit)

    assert f'<a href="{basket}">Panier n° {order.number}</a>' in row
    assert browser.get(basket).status_code == 200


def test_an_admin_follows_a_basket_to_its_order(login, order, admin):
    debit = order.transactions.get(kind=TransactionKind.ORDER)
    edit = reverse("order_edit", args=[order.market.slug, order.pk])

    row = _row(_text(login(admin).get(_url("client_history", order.membership))), debit)

    assert f'<a href="{edit}">Panier n° {order.number}</a>' in row


def test_a_payment_links_to_its_distribution(login, order, admin):
    payment = basket_payment_receive(
        order=order,
        payment=order.payments.get(),
        received_by=admin.user,
        method="cash",
        amount=Decimal("25.00"),
    )
    day = reverse("day_distribution", args=[order.market.slug, order.distribution_id])

    row = _row(
        _text(login(admin).get(_url("client_history", order.membership))), payment.transaction
    )

    date = f"{order.distribution.date:%d/%m/%Y}"
    assert f'<a href="{day}">Distribution du {date}</a>' in row


def test_a_reversal_links_to_its_original_on_another_page(login, member, treasurer):
    payment = payment_record(
        membership=member, method="cash", amount=Decimal("5.00"), recorded_by=treasurer.user
    )
    _openings(member, treasurer.user, HISTORY_PAGE_SIZE)
    reversal = transaction_correct(
        txn=payment.transaction, reason="Doublon", corrected_by=treasurer.user
    )
    browser = login(treasurer)

    first = _text(browser.get(_url("client_history", member)))
    second = _text(browser.get(_url("client_history", member), {"page": 2}))

    assert f'href="?page=2#op-{payment.transaction_id}"' in _row(first, reversal)
    assert f'href="?page=1#op-{reversal.pk}"' in _row(second, payment.transaction)


def test_a_reversal_on_the_same_page_links_to_the_row_itself(login, member, treasurer):
    payment = payment_record(
        membership=member, method="cash", amount=Decimal("5.00"), recorded_by=treasurer.user
    )
    reversal = transaction_correct(
        txn=payment.transaction, reason="Doublon", corrected_by=treasurer.user
    )

    page = _text(login(treasurer).get(_url("client_history", member)))

    assert f'href="#op-{payment.transaction_id}"' in _row(page, reversal)
