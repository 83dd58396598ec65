"""« Encaissements »: what a distribution brought in, the till, the exports, who may see them."""

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from distributions.cash.forms import CashCountForm
from distributions.cash.gaps import OVERPAID, PARTIAL, UNPAID
from distributions.cash.summary import summary_read
from distributions.cash.till import cash_count_record
from distributions.models import CashCount, DistributionStatus
from orders.services import basket_read, order_checkout
from payments.ledger import account_balance, market_account
from payments.models import (
    METHOD_ACCOUNT,
    AccountKind,
    Entry,
    Export,
    ExportKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    TransactionKind,
)
from payments.services import (
    payment_cancel,
    payment_receive,
    payment_record,
    refund_record,
    transaction_correct,
)
from tests.factories import MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.jobs import queued, run_jobs

pytestmark = pytest.mark.django_db

ALL_METHODS = ["cheque", "cash", "transfer", "card_terminal", "online_card", "cagnotte"]


# -- Building a distribution day ------------------------------------------------------------


@pytest.fixture
def vegetables(market):
    # 1,00 € a kilo: a basket of 12,6 kg costs 12,60 €.
    farm = ProducerFactory(market=market, name="Ferme des Trois Chênes")
    return ProductFactory(producer=farm, name="Légumes", unit_price=Decimal("1.00"))


@pytest.fixture
def offering_every_method(market, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_configured"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_configured"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_configured"
    market.payment_methods = ALL_METHODS
    market.save()
    return market


def _client(market, first, last):
    return MembershipFactory(market=market, user__first_name=first, user__last_name=last)


def _order(member, distribution, product, total: str, choice: str):
    lines = basket_read(member.market, {product.pk: total})
    return order_checkout(
        membership=member,
        distribution=distribution,
        lines=lines,
        choice=choice,
        token=f"t-{member.pk}-{distribution.pk}",
        notify=False,
    )


def _receive(order, by, **changes):
    payment = order.payments.get(status=PaymentStatus.PENDING)
    return payment_receive(payment=payment, received_by=by.user, **changes)


@dataclass
class Day:
    distribution: object
    orders: dict


@pytest.fixture
def day(market, admin, vegetables, offering_every_method):
    """A realistic pickup: every method, a partial payment, overpayments, a cash refund."""
    distribution = DistributionFactory(market=market, place="Préau de l'école")
    people = {
        "alice": ("Alice", "Martin", "12.6", "cash"),
        "bruno": ("Bruno", "Petit", "25.2", "cheque"),
        "chloe": ("Chloé", "Durand", "18.9", "cheque"),
        "david": ("David", "Leroy", "15", "cash"),
        "emma": ("Emma", "Moreau", "30", "transfer"),
        "farid": ("Farid", "Benali", "9.8", "card_terminal"),
        "gaelle": ("Gaëlle", "Roux", "14", "online_card"),
        "hugo": ("Hugo", "Fabre", "22.4", "cash"),
        "ines": ("Inès", "Garnier", "8.4", "transfer"),
        "jules": ("Jules", "Blanc", "11", "cagnotte"),
        "karim": ("Karim", "Haddad", "30", "cash"),
        "lea": ("Léa", "Simon", "6.5", "cheque"),
    }
    orders = {
        key: _order(_client(market, first, last), distribution, vegetables, kg, choice)
        for key, (first, last, kg, choice) in people.items()
    }
    distribution.status = DistributionStatus.CLOSED
    distribution.save()

    _receive(orders["alice"], admin)
    _receive(orders["bruno"], admin, cheque_number="1234567", bank="Crédit Agricole")
    _receive(orders["chloe"], admin, amount=Decimal("20.00"), cheque_number="7654321", bank="CIC")
    _receive(orders["david"], admin, amount=Decimal("20.00"))
    refund_record(
        membership=orders["david"].membership,
        amount=Decimal("5.00"),
        refunded_by=admin.user,
        order=orders["david"],
    )
    _receive(orders["emma"], admin)
    _receive(orders["farid"], admin)
    _receive(orders["gaelle"], admin)
    _receive(orders["hugo"], admin, amount=Decimal("10.00"))
    # Half in cash, half by cheque.
    _receive(orders["karim"], admin, amount=Decimal("15.00"))
    payment_record(
        membership=orders["karim"].membership,
        method=PaymentMethod.CHEQUE,
        amount=Decimal("15.00"),
        cheque_number="555",
        bank="La Banque Postale",
        recorded_by=admin.user,
        order=orders["karim"],
    )
    # Léa did not bring her cheque.
    payment_cancel(payment=orders["lea"].payments.get(), cancelled_by=admin.user)
    return Day(distribution, orders)


@pytest.fixture
def elsewhere(market, other_market, admin, vegetables, offering_every_method, day):
    """Money received for another distribution of the market, and in another market."""
    later = DistributionFactory(market=market, place="Halle")
    order = _order(day.orders["alice"].membership, later, vegetables, "7", "cash")
    _receive(order, admin)
    stranger = MembershipFactory(market=other_market)
    payment_record(
        membership=stranger,
        method=PaymentMethod.CASH,
        amount=Decimal("99.00"),
        recorded_by=stranger.user,
    )
    return later


def _url(name, distribution):
    return reverse(name, args=[distribution.market.slug, distribution.pk])


# -- The figures ------------------------------------------------------------------------------


def test_each_method_shows_the_count_and_total_received(day, elsewhere):
    summary = summary_read(day.distribution)
    figures = {m: (row.count, row.total) for m, row in summary.methods.items()}
    assert figures == {
        "cash": (4, Decimal("57.60")),
        "cheque": (3, Decimal("60.20")),
        "transfer": (1, Decimal("30.00")),
        "card_terminal": (1, Decimal("9.80")),
        "online_card": (1, Decimal("14.00")),
    }
    assert (summary.count_received, summary.total_received) == (10, Decimal("171.60"))


def test_a_pending_or_cancelled_payment_is_not_received(day):
    summary = summary_read(day.distribution)
    # Inès's transfer is still expected, Léa's cheque was cancelled.
    assert summary.transfer.count == 1
    assert all(c.membership != day.orders["lea"].membership for c in summary.cheques)


def test_the_till_expects_the_float_plus_cash_in_minus_cash_refunded(day, admin, elsewhere):
    cash_count_record(
        distribution=day.distribution, counted_by=admin.user, opening_float=Decimal("50.00")
    )
    till = summary_read(day.distribution).till
    assert till.opening_float == Decimal("50.00")
    assert till.cash_in == Decimal("57.60")
    assert (till.cash_out, till.refund_count) == (Decimal("5.00"), 1)
    assert till.expected == Decimal("102.60")
    assert (till.counted, till.difference, till.state) == (None, None, "uncounted")


@pytest.mark.parametrize(
    ("counted", "difference", "state"),
    [
        ("102.60", "0.00", "exact"),
        ("100.00", "-2.60", "short"),
        ("103.10", "0.50", "over"),
    ],
)
def test_the_difference_is_counted_minus_expected(day, admin, counted, difference, state):
    cash_count_record(
        distribution=day.distribution,
        counted_by=admin.user,
        opening_float=Decimal("50.00"),
        counted=Decimal(counted),
    )
    till = summary_read(day.distribution).till
    assert (till.difference, till.state) == (Decimal(difference), state)
    assert till.gap == abs(Decimal(difference))


def test_a_till_never_counted_starts_from_a_zero_float(day):
    till = summary_read(day.distribution).till
    assert till.opening_float == Decimal("0.00")
    assert till.expected == Decimal("52.60")


def test_cheques_to_deposit_list_client_amount_number_bank_and_reference(day):
    summary = summary_read(day.distribution)
    rows = [
        (c.membership.user.display_name, c.amount, c.cheque_number, c.bank, c.reference)
        for c in summary.cheques
    ]
    bruno, chloe, karim = (day.orders[k] for k in ("bruno", "chloe", "karim"))
    assert rows == [
        ("Bruno Petit", Decimal("25.20"), "1234567", "Crédit Agricole", bruno.reference),
        ("Chloé Durand", Decimal("20.00"), "7654321", "CIC", chloe.reference),
        ("Karim Haddad", Decimal("15.00"), "555", "La Banque Postale", karim.reference),
    ]
    assert (summary.cheque.count, summary.cheque.total) == (3, Decimal("60.20"))


def test_transfers_received_show_client_amount_reference_and_date(day):
    (transfer,) = summary_read(day.distribution).transfers
    assert transfer.membership.user.display_name == "Emma Moreau"
    assert transfer.amount == Decimal("30.00")
    assert transfer.reference == day.orders["emma"].reference
    assert transfer.received_at is not None


def test_card_terminal_and_online_totals(day):
    summary = summary_read(day.distribution)
    assert (summary.card_terminal.count, summary.card_terminal.total) == (1, Decimal("9.80"))
    assert (summary.online.count, summary.online.total) == (1, Decimal("14.00"))


def _gaps(summary, state):
    return [(g.client, g.total, g.received, g.difference) for g in summary.gaps_in(state)]


def test_unpaid_partial_and_overpaid_baskets(day):
    summary = summary_read(day.distribution)
    assert _gaps(summary, UNPAID) == [
        ("Inès Garnier", Decimal("8.40"), Decimal("0.00"), Decimal("-8.40")),
        ("Léa Simon", Decimal("6.50"), Decimal("0.00"), Decimal("-6.50")),
    ]
    assert _gaps(summary, PARTIAL) == [
        ("Hugo Fabre", Decimal("22.40"), Decimal("10.00"), Decimal("-12.40")),
    ]
    assert _gaps(summary, OVERPAID) == [
        ("Chloé Durand", Decimal("18.90"), Decimal("20.00"), Decimal("1.10")),
    ]
    assert [g.number for g in summary.gaps] == sorted(g.number for g in summary.gaps)


def test_an_unpaid_basket_shows_what_is_still_expected(day):
    (ines,) = [g for g in summary_read(day.distribution).unpaid if g.client == "Inès Garnier"]
    assert ines.pending == Decimal("8.40")


def test_an_overpayment_given_back_in_cash_is_settled(day):
    clients = [g.client for g in summary_read(day.distribution).gaps]
    assert "David Leroy" not in clients  # paid 20,00 €, given back 5,00 €
    assert "Karim Haddad" not in clients  # 15,00 € in cash and 15,00 € by cheque


def test_a_basket_paid_from_the_balance_is_neither_unpaid_nor_overpaid(day):
    summary = summary_read(day.distribution)
    assert "Jules Blanc" not in [g.client for g in summary.gaps]
    assert summary.settled_on_balance == 1


def test_a_reversed_refund_no_longer_leaves_the_till(day, admin):
    refund = day.orders["david"].transactions.get(kind=TransactionKind.REFUND)
    transaction_correct(txn=refund, reason="Saisi par erreur", corrected_by=admin.user)
    summary = summary_read(day.distribution)
    assert summary.till.cash_out == Decimal("0.00")
    assert [g.client for g in summary.overpaid] == ["Chloé Durand", "David Leroy"]


def test_a_reversed_payment_leaves_the_totals_and_unpays_the_basket(day, admin):
    payment = day.orders["alice"].payments.get()
    transaction_correct(txn=payment.transaction, reason="Doublon", corrected_by=admin.user)
    summary = summary_read(day.distribution)
    assert summary.methods["cash"].total == Decimal("45.00")
    assert "Alice Martin" in [g.client for g in summary.unpaid]


def test_in_cagnotte_mode_baskets_are_settled_on_the_balance(market, admin, vegetables):
    market.cagnotte_mode = True
    market.save()
    distribution = DistributionFactory(market=market)
    order = _order(_client(market, "Nina", "Perrin"), distribution, vegetables, "12", "")
    payment_record(
        membership=order.membership,
        method=PaymentMethod.CASH,
        amount=Decimal("40.00"),
        recorded_by=admin.user,
        order=order,
    )
    summary = summary_read(distribution)
    assert summary.methods["cash"].total == Decimal("40.00")
    assert summary.gaps == []
    assert summary.settled_on_balance == 1


# -- Agreement with the ledger ------------------------------------------------------------------


def _ledger_sum(entries) -> Decimal:
    return entries.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def test_every_figure_agrees_with_the_ledger_to_the_cent(market, day, elsewhere):
    summary = summary_read(day.distribution)
    received = Payment.objects.filter(distribution=day.distribution, status=PaymentStatus.RECEIVED)
    for method, account_kind in METHOD_ACCOUNT.items():
        transactions = received.filter(method=method).values("transaction")
        posted = _ledger_sum(
            Entry.objects.filter(
                transaction__in=transactions, account=market_account(market, account_kind)
            )
        )
        assert summary.methods[method].total == posted, method
        assert isinstance(summary.methods[method].total, Decimal)
    refunds = Entry.objects.filter(
        transaction__kind=TransactionKind.REFUND,
        transaction__order__distribution=day.distribution,
        account=market_account(market, AccountKind.CASH),
    )
    assert summary.till.cash_out == -_ledger_sum(refunds)


def test_the_net_received_is_the_distribution_pages_received(day):
    """Encaissements and the baskets page tell the same « Reçu », change given back included."""
    from distributions.day.baskets import day_baskets, day_totals

    summary = summary_read(day.distribution)

    assert summary.given_back == summary.till.cash_out > 0
    assert summary.net_received == summary.total_received - summary.till.cash_out
    assert summary.net_received == day_totals(day_baskets(day.distribution))["received_total"]


def test_the_cash_box_holds_what_the_till_says_came_in(market, day, elsewhere):
    till = summary_read(day.distribution).till
    other_distribution_cash = Decimal("7.00")
    cash_box = market_account(market, AccountKind.CASH)
    assert account_balance(cash_box) == till.cash_in - till.cash_out + other_distribution_cash
    assert account_balance(cash_box) == _ledger_sum(cash_box.entries.all())


def test_cheques_and_bank_accounts_hold_the_listed_amounts(market, day, elsewhere):
    summary = summary_read(day.distribution)
    assert account_balance(market_account(market, AccountKind.CHEQUES)) == sum(
        (c.amount for c in summary.cheques), Decimal("0.00")
    )
    assert account_balance(market_account(market, AccountKind.BANK)) == sum(
        (t.amount for t in summary.transfers), Decimal("0.00")
    )
    assert account_balance(market_account(market, AccountKind.CARD_TERMINAL)) == Decimal("9.80")
    assert account_balance(market_account(market, AccountKind.ONLINE)) == Decimal("14.00")


# -- The page --------------------------------------------------------------------------------


def _page(response) -> str:
    return response.content.decode()


def test_the_page_shows_every_section(login, admin, day):
    response = login(admin).get(_url("cash_summary", day.distribution))
    assert response.status_code == 200
    text = _page(response)
    assert "Encaissements" in text
    assert "Préau de l&#x27;école" in text
    assert 'id="till-expected">52,60\xa0€' in text
    assert "1234567" in text and "Crédit Agricole" in text
    assert "60,20\xa0€" in text  # cheques
    assert "à comparer avec le ticket du terminal" in text
    assert "Hugo Fabre" in text and "-12,40\xa0€" in text
    assert "+1,10\xa0€" in text
    assert "1 panier payé avec la cagnotte" in text


def _href(name, day, *args) -> str:
    return f'href="{reverse(name, args=[day.distribution.market.slug, *args])}"'


def test_the_page_links_back_to_the_distributions(login, admin, day):
    text = _page(login(admin).get(_url("cash_summary", day.distribution)))
    assert _href("distribution_list", day) in text
    assert _href("day_distribution", day, day.distribution.pk) in text


def test_a_treasurer_sees_the_page_without_the_admin_only_links(login, treasurer, day):
    response = login(treasurer).get(_url("cash_summary", day.distribution))
    assert response.status_code == 200
    assert _href("distribution_orders", day, day.distribution.pk) not in _page(response)


def test_the_page_costs_the_same_queries_however_many_payments(
    login, admin, market, vegetables, offering_every_method
):
    distribution = DistributionFactory(market=market)
    browser = login(admin)
    browser.get(_url("cash_summary", distribution))  # the session remembers the market once

    def _queries():
        with CaptureQueriesContext(connection) as queries:
            assert browser.get(_url("cash_summary", distribution)).status_code == 200
        return len(queries)

    methods = ["cash", "cheque", "transfer", "card_terminal", "online_card"]
    for n, method in enumerate(methods):
        order = _order(_client(market, "Un", f"Client{n}"), distribution, vegetables, "5", method)
        _receive(order, admin, amount=Decimal("6.00"), cheque_number="1")
    few = _queries()
    for n, method in enumerate(methods * 4):
        order = _order(
            _client(market, "Autre", f"Client{n}"), distribution, vegetables, "5", method
        )
        _receive(order, admin, amount=Decimal("6.00"), cheque_number="2")
    refund_record(
        membership=order.membership, amount=Decimal("0.50"), refunded_by=admin.user, order=order
    )
    assert _queries() == few


# -- Counting the till -------------------------------------------------------------------------


def _count(browser, distribution, **data):
    return browser.post(_url("cash_count", distribution), data)


def test_entering_the_float_and_the_counted_cash_shows_a_zero_difference_in_green(
    login, admin, day
):
    browser = login(admin)
    response = _count(browser, day.distribution, opening_float="50,00", counted="102,60")
    assert response.status_code == 302
    assert response["Location"] == _url("cash_summary", day.distribution)
    count = CashCount.objects.get(distribution=day.distribution)
    assert (count.opening_float, count.counted) == (Decimal("50.00"), Decimal("102.60"))
    assert count.updated_by == admin.user
    text = _page(browser.get(response["Location"]))
    assert 'class="text-success fw-semibold" id="till-difference">0,00\xa0€' in text
    assert "caisse juste" in text


def test_a_short_till_says_manque_in_red(login, treasurer, day):
    browser = login(treasurer)
    _count(browser, day.distribution, opening_float="50", counted="100")
    text = _page(browser.get(_url("cash_summary", day.distribution)))
    assert 'class="text-danger fw-semibold" id="till-difference">' in text
    assert "manque 2,60\xa0€" in text


def test_a_till_over_says_excedent_in_red(login, admin, day):
    browser = login(admin)
    _count(browser, day.distribution, opening_float="50", counted="103,10")
    text = _page(browser.get(_url("cash_summary", day.distribution)))
    assert 'class="text-danger fw-semibold" id="till-difference">' in text
    assert "excédent 0,50\xa0€" in text


def test_a_zero_float_is_accepted(login, admin, day):
    response = _count(login(admin), day.distribution, opening_float="0", counted="")
    assert response.status_code == 302
    count = CashCount.objects.get(distribution=day.distribution)
    assert (count.opening_float, count.counted) == (Decimal("0.00"), None)


def test_a_field_left_empty_keeps_what_was_recorded(login, admin, day):
    browser = login(admin)
    _count(browser, day.distribution, opening_float="50,00", counted="")
    _count(browser, day.distribution, opening_float="", counted="102,60")
    count = CashCount.objects.get(distribution=day.distribution)
    assert (count.opening_float, count.counted) == (Decimal("50.00"), Decimal("102.60"))


def test_sending_the_count_twice_is_harmless(login, admin, day):
    browser = login(admin)
    for _ in range(2):
        response = _count(browser, day.distribution, opening_float="50,00", counted="102,60")
        assert response.status_code == 302
    count = CashCount.objects.get(distribution=day.distribution)
    assert (count.opening_float, count.counted) == (Decimal("50.00"), Decimal("102.60"))
    assert summary_read(day.distribution).till.difference == Decimal("0.00")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"opening_float": "beaucoup", "counted": ""}, "Saisissez un montant en euros"),
        ({"opening_float": "50", "counted": "-3"}, "Le montant ne peut pas être négatif."),
        ({"opening_float": "12,505", "counted": ""}, "pas avoir plus de 2 décimales"),
        ({"opening_float": "", "counted": "100000,01"}, "ne peut pas dépasser 100"),
        ({"opening_float": "", "counted": ""}, "Saisissez le fond de caisse"),
    ],
)
def test_bad_input_says_why_in_french_and_writes_nothing(login, admin, day, data, message):
    response = _count(login(admin), day.distribution, **data)
    assert response.status_code == 400
    assert message in _page(response)
    assert not CashCount.objects.filter(distribution=day.distribution).exists()


def test_the_form_shows_what_was_recorded(login, admin, day):
    browser = login(admin)
    _count(browser, day.distribution, opening_float="50", counted="")
    text = _page(browser.get(_url("cash_summary", day.distribution)))
    assert 'name="opening_float" id="id_opening_float" value="50,00"' in text


@pytest.mark.parametrize("text", ["0", "0,00", "12,50", "12.5", "100000"])
def test_the_till_field_accepts_zero_and_positive_amounts(text):
    form = CashCountForm({"opening_float": text, "counted": ""})
    assert form.is_valid(), form.errors
    assert isinstance(form.cleaned_data["opening_float"], Decimal)


def test_reloading_the_count_address_leads_back_to_encaissements(login, admin, day):
    """After a refused count, a reload (or a language switch) asks for the form's address."""
    response = login(admin).get(_url("cash_count", day.distribution))
    assert response.status_code == 302
    assert response.url == _url("cash_summary", day.distribution)


# -- Who may see it ----------------------------------------------------------------------------

EVERY_PAGE = ["cash_summary", "cash_csv", "cash_pdf", "cash_cheque_slip_pdf"]


@pytest.mark.parametrize("name", EVERY_PAGE)
def test_a_client_is_refused(login, member, day, name):
    assert login(member).get(_url(name, day.distribution)).status_code == 403


def test_a_client_cannot_count_the_till(login, member, day):
    response = _count(login(member), day.distribution, opening_float="1", counted="1")
    assert response.status_code == 403
    assert not CashCount.objects.exists()


@pytest.mark.parametrize("name", EVERY_PAGE)
def test_an_admin_of_another_market_gets_a_404(login, other_admin, day, name):
    assert login(other_admin).get(_url(name, day.distribution)).status_code == 404


@pytest.mark.parametrize("name", [*EVERY_PAGE, "cash_count"])
def test_a_distribution_of_another_market_is_a_404(login, admin, other_market, name):
    foreign = DistributionFactory(market=other_market)
    url = reverse(name, args=[admin.market.slug, foreign.pk])
    browser = login(admin)
    response = browser.post(url) if name == "cash_count" else browser.get(url)
    assert response.status_code == 404


def test_signing_in_is_required(client, day):
    response = client.get(_url("cash_summary", day.distribution))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# -- CSV ---------------------------------------------------------------------------------------


def _csv_rows(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_csv_lists_every_received_payment_and_each_refund_as_negative_cash(
    login, treasurer, day, elsewhere
):
    response = login(treasurer).get(_url("cash_csv", day.distribution))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    date = f"{day.distribution.date:%Y-%m-%d}"
    assert response["Content-Disposition"] == (
        f'attachment; filename="encaissements-montreuil-{date}.csv"'
    )
    header, *rows = _csv_rows(response)
    assert header == [
        "Date",
        "Opération",
        "Moyen de paiement",
        "Client",
        "Panier",
        "Montant",
        "N° de chèque",
        "Banque",
        "Référence",
    ]
    assert len(rows) == 11  # 10 payments and 1 refund
    bruno = day.orders["bruno"]
    assert [
        "Paiement",
        "Chèque",
        "Bruno Petit",
        str(bruno.number),
        "25,20",
        "1234567",
        "Crédit Agricole",
        bruno.reference,
    ] in [row[1:] for row in rows]
    assert rows[-1][1:6] == [
        "Remboursement",
        "Espèces",
        "David Leroy",
        str(day.orders["david"].number),
        "-5,00",
    ]


def test_csv_lines_add_up_to_the_cash_in_total(login, admin, day):
    _header, *rows = _csv_rows(login(admin).get(_url("cash_csv", day.distribution)))
    total = sum((Decimal(row[5].replace(",", ".")) for row in rows), Decimal("0.00"))
    assert total == Decimal("171.60") - Decimal("5.00")
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", rows[0][0])


def test_csv_keeps_spreadsheets_from_running_a_name_as_a_formula(
    login, admin, market, vegetables, offering_every_method
):
    distribution = DistributionFactory(market=market)
    order = _order(_client(market, "=HYPERLINK(1)", "Malin"), distribution, vegetables, "3", "cash")
    _receive(order, admin)
    _header, row = _csv_rows(login(admin).get(_url("cash_csv", distribution)))
    assert row[3] == "'=HYPERLINK(1) Malin"


# -- PDF ---------------------------------------------------------------------------------------


def _pdf_text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    content = b"".join(response.streaming_content) if response.streaming else response.content
    reader = PdfReader(io.BytesIO(content))
    return " ".join("\n".join(page.extract_text() for page in reader.pages).split())


def _cash_pdf(browser, distribution):
    """Ask for the Encaissements PDF as the button does, let the job run, download it."""
    asked = browser.post(_url("cash_pdf", distribution))
    export = Export.objects.get(kind=ExportKind.CASH, params={"distribution_id": distribution.pk})
    assert asked.status_code == 302
    assert asked["Location"] == reverse("export_detail", args=[distribution.market.slug, export.pk])
    run_jobs()
    return browser.get(reverse("export_download", args=[distribution.market.slug, export.pk]))


def test_the_pdf_summary_has_every_section_and_total(login, admin, day):
    cash_count_record(
        distribution=day.distribution,
        counted_by=admin.user,
        opening_float=Decimal("50.00"),
        counted=Decimal("100.00"),
    )
    response = _cash_pdf(login(admin), day.distribution)
    date = f"{day.distribution.date:%Y-%m-%d}"
    assert response["Content-Disposition"] == (
        f'attachment; filename="encaissements-montreuil-{date}.pdf"'
    )
    text = _pdf_text(response)
    assert "Marché de Montreuil" in text
    assert "Encaissements" in text
    assert "Préau de l'école" in text
    assert "Édité le" in text
    assert "Espèces 4 57,60 €" in text
    assert "Chèque 3 60,20 €" in text
    assert "Virement 1 30,00 €" in text
    assert "Total 10 171,60 €" in text
    assert "Attendu en caisse 102,60 €" in text
    assert "manque 2,60 €" in text
    bruno, emma = day.orders["bruno"], day.orders["emma"]
    assert f"Bruno Petit {bruno.number} 1234567 Crédit Agricole {bruno.reference} 25,20 €" in text
    assert "3 chèques 60,20 €" in text
    assert f"Emma Moreau {emma.reference}" in text
    assert "1 virement 30,00 €" in text
    assert "à comparer avec le ticket du terminal" in text
    assert "Inès Garnier" in text and "-8,40 €" in text
    assert "Hugo Fabre" in text and "-12,40 €" in text
    assert "Chloé Durand" in text and "+1,10 €" in text


def test_the_pdf_is_laid_out_by_a_job_and_a_double_submit_makes_one(login, admin, day):
    browser = login(admin)
    first = browser.post(_url("cash_pdf", day.distribution))
    second = browser.post(_url("cash_pdf", day.distribution))

    assert first["Location"] == second["Location"]
    assert queued("export_cash") == [
        {"task": "export_cash", "args": {"export_id": Export.objects.get().pk}, "lock": None}
    ]
    page = browser.get(first["Location"]).content.decode()
    assert 'class="progress' in page
    assert f'href="{_url("cash_summary", day.distribution)}"' in page  # back to Encaissements


def test_the_pdf_button_is_a_form_and_the_address_visited_leads_back(login, admin, day):
    browser = login(admin)
    html = browser.get(_url("cash_summary", day.distribution)).content.decode()
    assert f'<form method="post" action="{_url("cash_pdf", day.distribution)}"' in html

    response = browser.get(_url("cash_pdf", day.distribution))

    assert response["Location"] == _url("cash_summary", day.distribution)
    assert not Export.objects.exists()


def test_a_treasurer_downloads_the_pdf_an_admin_asked_for(login, admin, treasurer, day):
    login(admin).post(_url("cash_pdf", day.distribution))
    run_jobs()
    export = Export.objects.get()

    response = login(treasurer).get(
        reverse("export_download", args=[day.distribution.market.slug, export.pk])
    )

    assert "Encaissements" in _pdf_text(response)


def test_the_cheque_slip_lists_each_cheque_with_the_count_total_and_signature(
    login, treasurer, market, day
):
    market.account_holder = "Association Les Paniers de Montreuil"
    market.iban = "FR7630006000011234567890189"
    market.save()
    response = login(treasurer).get(_url("cash_cheque_slip_pdf", day.distribution))
    date = f"{day.distribution.date:%Y-%m-%d}"
    assert response["Content-Disposition"] == (
        f'attachment; filename="bordereau-cheques-montreuil-{date}.pdf"'
    )
    text = _pdf_text(response)
    assert "Bordereau de remise de chèques" in text
    assert "Association Les Paniers de Montreuil" in text
    assert "FR76 3000 6000 0112 3456 7890 189" in text
    assert f"Date de remise {timezone.localdate():%d/%m/%Y}" in text
    assert "1234567 Crédit Agricole Bruno Petit 25,20 €" in text
    assert "7654321 CIC Chloé Durand 20,00 €" in text
    assert "555 La Banque Postale Karim Haddad 15,00 €" in text
    assert "Total : 3 chèques 60,20 €" in text
    assert "Signature" in text
    assert "Alice Martin" not in text


def test_the_cheque_slip_without_iban_names_the_market(login, admin, market, day):
    text = _pdf_text(login(admin).get(_url("cash_cheque_slip_pdf", day.distribution)))
    assert "Titulaire du compte Marché de Montreuil" in text
    assert "IBAN" not in text
