"""Ledger labels are rendered in the reader's language; the stored label stays the audit text."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from distributions.models import Distribution
from orders.models import Unit
from orders.services import basket_read, order_checkout
from payments.ledger import transaction_reverse
from payments.models import PaymentMethod, Transaction, TransactionKind
from payments.services import opening_balance_record, payment_record, refund_record
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _back_to_the_default_language():
    yield
    translation.deactivate()


@pytest.fixture
def order(member):
    market = member.market
    market.payment_methods = ["cheque", "cash"]
    market.save()
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    carrots = ProductFactory(producer=farm, unit=Unit.KG, unit_price=Decimal("2.80"))
    return order_checkout(
        membership=member,
        distribution=DistributionFactory(market=market, date=datetime.date(2026, 12, 4)),
        lines=basket_read(market, {str(carrots.pk): "2"}),
        choice="cash",
        token=uuid.uuid4().hex,
        notify=False,
    )


def _in(language, txn) -> str:
    txn = Transaction.objects.get(pk=txn.pk)  # as a page reads it, not as posted
    with translation.override(language):
        return txn.display_label


def _order_txn(order):
    return order.transactions.get(kind=TransactionKind.ORDER)


def test_an_order_label_is_stored_in_french_and_read_in_english(order):
    txn = _order_txn(order)

    assert txn.label == f"Commande panier n° {order.number} (04/12/2026)"
    assert _in("fr", txn) == txn.label
    assert _in("en", txn) == f"Order, basket no. {order.number} (04/12/2026)"


def test_the_default_opening_balance_label_is_read_in_english(member, treasurer):
    txn = opening_balance_record(
        membership=member, amount=Decimal("5"), label="Reprise de solde", recorded_by=treasurer.user
    )

    assert _in("en", txn) == "Opening balance"
    assert Transaction.objects.get(pk=txn.pk).label == "Reprise de solde"


def test_an_opening_balance_typed_by_the_treasurer_is_shown_as_typed(member, treasurer):
    txn = opening_balance_record(
        membership=member, amount=Decimal("5"), label="Carnet 2025", recorded_by=treasurer.user
    )

    assert _in("en", txn) == "Carnet 2025"


def test_a_cash_payment_is_read_by_its_method(member, treasurer):
    payment = payment_record(
        membership=member,
        method=PaymentMethod.CASH,
        amount=Decimal("8"),
        recorded_by=treasurer.user,
    )

    assert payment.transaction.label == "Espèces"
    assert _in("en", payment.transaction) == "Cash"


def test_a_cheque_payment_keeps_its_number_in_every_language(member, treasurer):
    payment = payment_record(
        membership=member,
        method=PaymentMethod.CHEQUE,
        amount=Decimal("30"),
        cheque_number="4471",
        recorded_by=treasurer.user,
    )

    assert payment.transaction.label == "Chèque n° 4471"
    assert _in("fr", payment.transaction) == "Chèque n° 4471"
    english = _in("en", payment.transaction)
    assert english.startswith("Cheque") and "4471" in english


def test_a_cash_refund_is_read_in_english(member, treasurer):
    opening_balance_record(
        membership=member, amount=Decimal("10"), label="Reprise", recorded_by=treasurer.user
    )
    txn = refund_record(membership=member, amount=Decimal("4"), refunded_by=treasurer.user)

    assert _in("en", txn) == "Cash refund"


def test_a_reversal_renders_the_label_of_what_it_cancels(order, treasurer):
    original = _order_txn(order)
    reversal, _created = transaction_reverse(
        txn=original, reason="erreur de saisie", posted_by=treasurer.user
    )

    assert reversal.label == f"Annulation : {original.label}"
    assert _in("fr", reversal) == reversal.label
    english = _in("en", reversal)
    assert english != reversal.label
    assert english.endswith(f"Order, basket no. {order.number} (04/12/2026)")


def test_a_label_no_wording_wrote_is_shown_as_stored(order):
    txn = _order_txn(order)
    txn.label = "Reprise de l'ancien logiciel"  # as a row from an import would read

    with translation.override("en"):
        assert txn.display_label == "Reprise de l'ancien logiciel"


def test_the_client_history_reads_in_english(login, treasurer, member, order):
    browser = login(treasurer)
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    url = reverse("client_history", args=[member.market.slug, member.pk])

    page = browser.get(url).content.decode()

    assert f"Order, basket no. {order.number}" in page
    assert "Commande panier n°" not in page


def test_my_account_reads_in_english(login, member, order):
    browser = login(member)
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = browser.get(reverse("my_account", args=[member.market.slug])).content.decode()

    assert f"Order, basket no. {order.number}" in page
    assert "Commande panier n°" not in page


def test_the_basket_page_reads_cash_given_back_in_english(login, admin, member, order):
    payment_record(
        membership=member,
        method=PaymentMethod.CASH,
        amount=Decimal("10.00"),
        recorded_by=admin.user,
        order=order,
    )
    refund_record(membership=member, amount=Decimal("4.40"), refunded_by=admin.user, order=order)
    browser = login(admin)
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    url = reverse("day_basket", args=[order.market.slug, order.distribution_id, order.pk])

    page = browser.get(url).content.decode()

    assert "Cash refund" in page and "Remboursement en espèces" not in page


def test_an_order_label_keeps_the_date_it_was_ordered_for_after_the_distribution_moved(order):
    Distribution.objects.filter(pk=order.distribution_id).update(date=datetime.date(2026, 12, 11))

    assert _in("en", _order_txn(order)) == f"Order, basket no. {order.number} (04/12/2026)"
