"""Distribution day: the baskets page and each basket's « Paiement » box."""

import html
import io
import itertools
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from distributions.models import DistributionStatus
from orders.services import basket_read, order_checkout
from payments.ledger import account_balance, client_account, market_account
from payments.models import AccountKind, Payment, PaymentStatus, Transaction, TransactionKind
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

TOKEN = "b" * 32
TOKENS = (f"{n:032x}" for n in itertools.count(1))
ALL_METHODS = ["cash", "cheque", "transfer", "card_terminal", "cagnotte"]


@pytest.fixture(autouse=True)
def ledger_stays_clean(db):
    """Whatever a test does through the pages, the books still balance."""
    yield
    call_command("check_ledger", stdout=io.StringIO())


@pytest.fixture
def honey(market):
    market.payment_methods = ALL_METHODS
    market.save()
    farm = ProducerFactory(market=market, name="Rucher de la Vallée")
    return ProductFactory(producer=farm, name="Miel", unit="piece", unit_price=Decimal("12.50"))


@pytest.fixture
def distribution(market):
    return DistributionFactory(market=market)


def _client(market, first="Léa", last="Dubois"):
    user = UserFactory(first_name=first, last_name=last)
    return MembershipFactory(market=market, user=user, role=Role.CLIENT)


def _order(member, distribution, product, choice, quantity="2"):
    """A basket of ``quantity`` × ``product`` (12,50 € each: 25,00 € for two)."""
    lines = basket_read(member.market, {product.pk: quantity})
    return order_checkout(
        membership=member,
        distribution=distribution,
        lines=lines,
        choice=choice,
        token=next(TOKENS),
        notify=False,
    )


def _url(name, order, *extra):
    return reverse(name, args=[order.market.slug, order.distribution_id, order.pk, *extra])


def _day_url(distribution):
    return reverse("day_distribution", args=[distribution.market.slug, distribution.pk])


def _expected(order) -> Payment:
    return order.payments.get(status=PaymentStatus.PENDING)


def _receive(browser, order, payment=None, **fields):
    payment = payment or _expected(order)
    data = {f"paiement-{payment.pk}-{key}": value for key, value in fields.items()}
    data.setdefault(f"paiement-{payment.pk}-form_token", TOKEN)
    return browser.post(_url("day_payment_receive", order, payment.pk), data)


def _add(browser, order, token=TOKEN, **fields):
    data = {f"ajout-{key}": value for key, value in fields.items()}
    data["ajout-form_token"] = token
    return browser.post(_url("day_payment_add", order), data)


def _refund(browser, order, amount, token=TOKEN):
    data = {"monnaie-amount": amount, "monnaie-form_token": token}
    return browser.post(_url("day_refund", order), data)


def _text(response) -> str:
    return html.unescape(response.content.decode()).replace("\xa0", " ")


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]).replace("\xa0", " ")


# -- Who may enter ---------------------------------------------------------------


def test_a_client_cannot_reach_any_day_page(login, member, distribution, honey):
    order = _order(_client(distribution.market), distribution, honey, "cash")
    browser = login(member)
    assert browser.get(_day_url(distribution)).status_code == 403
    assert browser.get(_url("day_basket", order)).status_code == 403
    assert _receive(browser, order, method="cash", amount="25").status_code == 403
    assert browser.post(_url("day_basket_validate", order)).status_code == 403
    assert _expected(order).status == PaymentStatus.PENDING


def test_another_markets_admin_gets_a_404(login, other_admin, distribution, honey):
    order = _order(_client(distribution.market), distribution, honey, "cash")
    browser = login(other_admin)
    assert browser.get(_day_url(distribution)).status_code == 404
    assert browser.get(_url("day_basket", order)).status_code == 404


def test_a_basket_is_found_only_under_its_own_distribution(
    login, admin, market, other_market, distribution, honey
):
    order = _order(_client(market), distribution, honey, "cash")
    elsewhere = DistributionFactory(market=market)
    url = reverse("day_basket", args=[market.slug, elsewhere.pk, order.pk])
    assert login(admin).get(url).status_code == 404
    foreign = DistributionFactory(market=other_market)
    url = reverse("day_basket", args=[market.slug, foreign.pk, order.pk])
    assert login(admin).get(url).status_code == 404


def test_a_basket_page_reads_its_distribution_with_the_basket(login, admin, distribution, honey):
    order = _order(_client(distribution.market), distribution, honey, "cheque")
    browser = login(admin)
    browser.get(_url("day_basket", order))  # the first visit also remembers the market
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(_url("day_basket", order)).status_code == 200
    selects = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert not [sql for sql in selects if sql.startswith('SELECT "distributions_distribution"')]
    # Its emails (the last one, those not sent) in one query.
    assert len([sql for sql in selects if 'FROM "accounts_outgoingemail"' in sql]) == 1
    # The session, the person, their memberships, the basket, its payments, its
    # emails, its lines, the cash given back.
    assert len(queries) <= 8


def test_ids_out_of_range_are_a_404(login, admin, market, distribution):
    huge = 2**70
    browser = login(admin)
    assert browser.get(reverse("day_distribution", args=[market.slug, huge])).status_code == 404
    url = reverse("day_basket", args=[market.slug, distribution.pk, huge])
    assert browser.get(url).status_code == 404


def test_a_payment_of_another_basket_is_a_404(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "cash")
    other = _order(_client(market, "Hugo", "Petit"), distribution, honey, "cash")
    response = _receive(login(admin), order, _expected(other), method="cash", amount="25")
    assert response.status_code == 404
    assert _expected(other).status == PaymentStatus.PENDING


def test_a_treasurer_records_payments_but_leaves_validation_to_admins(
    login, treasurer, market, distribution, honey
):
    order = _order(_client(market), distribution, honey, "cash")
    browser = login(treasurer)
    assert browser.get(_day_url(distribution)).status_code == 200
    page = browser.get(_url("day_basket", order))
    assert "Valider le panier" not in _text(page)
    assert _receive(browser, order, method="cash", amount="25,00").status_code == 302
    assert order.payments.get().status == PaymentStatus.RECEIVED
    assert browser.post(_url("day_basket_validate", order)).status_code == 403
    order.refresh_from_db()
    assert not order.is_validated


# -- The distribution page -----------------------------------------------------------


def test_the_page_lists_each_basket_with_its_method_payment_and_balance(
    login, admin, market, distribution, honey
):
    lea = _order(_client(market, "Léa", "Dubois"), distribution, honey, "cheque")
    hugo = _order(_client(market, "Hugo", "Petit"), distribution, honey, "cash", quantity="1")
    browser = login(admin)
    _receive(browser, hugo, method="cash", amount="20,00")

    response = browser.get(_day_url(distribution))
    text = _text(response)
    rows = {order.number: order for order in response.context["rows"]}
    assert "Léa Dubois" in text and "Hugo Petit" in text
    assert (rows[lea.number].paid, rows[lea.number].due) == (Decimal("0.00"), Decimal("25.00"))
    assert (rows[hugo.number].paid, rows[hugo.number].due) == (Decimal("20.00"), Decimal("0.00"))
    assert "Chèque" in text and "Espèces" in text
    # Hugo paid 20,00 € for a 12,50 € basket: 7,50 € on his balance.
    assert "7,50 €" in text and "-25,00 €" in text
    assert _url("day_basket", lea) in text


def test_a_name_people_typed_is_shown_as_text_in_the_list_never_as_markup(
    login, admin, market, distribution, honey
):
    _order(
        _client(market, '<img src=x onerror="alert(1)">', "O'Brien & Fils"),
        distribution,
        honey,
        "cash",
    )

    page = login(admin).get(_day_url(distribution)).content.decode()

    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; O&#x27;Brien &amp; Fils" in page


def test_the_star_marks_a_clients_first_order_in_this_market(
    login, admin, market, distribution, honey
):
    regular = _client(market, "Emma", "Leroy")
    earlier = DistributionFactory(market=market)
    _order(regular, earlier, honey, "cash")
    _order(regular, distribution, honey, "cash")
    newcomer = _order(_client(market, "Zoé", "Girard"), distribution, honey, "cash")

    response = login(admin).get(_day_url(distribution))
    new = {order.number for order in response.context["rows"] if order.is_new}
    assert new == {newcomer.number}
    text = _text(response)
    assert text.count("★</span>") == 1
    assert "nouveau client" in text


def test_filters_and_search_narrow_the_list(login, admin, market, distribution, honey):
    regular = _client(market, "Emma", "Leroy")
    _order(regular, DistributionFactory(market=market), honey, "cash")
    paid = _order(regular, distribution, honey, "cash")
    unpaid = _order(_client(market, "Hugo", "Petit"), distribution, honey, "cheque")
    browser = login(admin)
    _receive(browser, paid, method="cash", amount="25")
    browser.post(_url("day_basket_validate", paid))

    def numbers(**query):
        response = browser.get(_day_url(distribution), query)
        return {order.number for order in response.context["rows"]}

    assert numbers() == {paid.number, unpaid.number}
    assert numbers(filtre="a-valider") == {unpaid.number}
    assert numbers(filtre="impayes") == {unpaid.number}
    assert numbers(filtre="nouveaux") == {unpaid.number}
    assert numbers(q="leroy") == {paid.number}
    assert numbers(q=str(unpaid.number)) == {unpaid.number}
    assert numbers(filtre="impayes", q="leroy") == set()
    assert numbers(filtre="n'importe quoi") == {paid.number, unpaid.number}


def test_the_totals_count_every_basket_whatever_the_filter(
    login, admin, market, distribution, honey
):
    first = _order(_client(market), distribution, honey, "cash")
    _order(_client(market, "Hugo", "Petit"), distribution, honey, "cheque", quantity="1")
    browser = login(admin)
    _receive(browser, first, method="cash", amount="30,00")
    _refund(browser, first, "5,00")
    browser.post(_url("day_basket_validate", first))

    totals = browser.get(_day_url(distribution), {"filtre": "impayes"}).context["totals"]
    assert totals["count"] == 2
    assert totals["amount"] == Decimal("37.50")
    # 30,00 € received, 5,00 € of change given back.
    assert totals["received_total"] == Decimal("25.00")
    assert totals["due_total"] == Decimal("12.50")
    assert totals["validated"] == 1


def test_every_basket_listed_reads_the_totals_with_the_rows(
    login, admin, market, distribution, honey
):
    first = _order(_client(market), distribution, honey, "cash")
    _order(_client(market, "Hugo", "Petit"), distribution, honey, "cheque", quantity="1")
    browser = login(admin)
    _receive(browser, first, method="cash", amount="30,00")
    _refund(browser, first, "5,00")
    browser.post(_url("day_basket_validate", first))
    filtered = browser.get(_day_url(distribution), {"filtre": "impayes"}).context["totals"]

    with CaptureQueriesContext(connection) as queries:
        unfiltered = browser.get(_day_url(distribution)).context["totals"]

    assert unfiltered == filtered
    assert (unfiltered["a-valider"], unfiltered["impayes"], unfiltered["nouveaux"]) == (1, 1, 2)
    # No aggregate over the baskets beside the rows (Django wraps it in a subquery).
    assert not [q for q in queries if "subquery" in q["sql"]]


def test_an_empty_distribution_has_zero_totals(login, admin, distribution):
    totals = login(admin).get(_day_url(distribution)).context["totals"]
    assert totals == {
        "validated": 0,
        "a-valider": 0,
        "impayes": 0,
        "nouveaux": 0,
        "count": 0,
        "amount": Decimal("0.00"),
        "received_total": Decimal("0.00"),
        "due_total": Decimal("0.00"),
    }


def test_the_page_costs_the_same_queries_for_two_baskets_or_ten(
    login, admin, market, distribution, honey
):
    def place(count):
        for n in range(count):
            member = _client(market, f"Client{n}", f"Nom{n}")
            order = _order(member, distribution, honey, ["cash", "cheque", "cagnotte"][n % 3])
            if n % 2:
                Payment.objects.filter(order=order).update(method="transfer")

    browser = login(admin)
    browser.get(_day_url(distribution))  # the first visit also remembers the market
    place(2)
    with CaptureQueriesContext(connection) as few:
        assert browser.get(_day_url(distribution)).status_code == 200
    place(8)
    with CaptureQueriesContext(connection) as many:
        response = browser.get(_day_url(distribution))
    assert len(response.context["rows"]) == 10
    assert len(many) == len(few)


def test_in_cagnotte_mode_baskets_are_on_the_balance(login, admin, market, distribution, honey):
    market.cagnotte_mode = True
    market.save()
    order = _order(_client(market), distribution, honey, "")
    response = login(admin).get(_day_url(distribution))
    row = next(iter(response.context["rows"]))
    assert (row.pk, row.paid, row.due) == (order.pk, Decimal("25.00"), Decimal("0.00"))
    assert "cagnotte du marché" in _text(response)


# -- Receiving the expected payment ----------------------------------------------------


def test_cash_received_settles_the_basket(login, admin, market, distribution, honey):
    member = _client(market)
    order = _order(member, distribution, honey, "cash")
    response = _receive(login(admin), order, method="cash", amount="25,00")
    assert response.status_code == 302
    assert response.url == _url("day_basket", order)
    payment = order.payments.get()
    assert (payment.status, payment.method) == (PaymentStatus.RECEIVED, "cash")
    assert payment.received_by == admin.user
    assert client_account(member).held == Decimal("0.00")
    assert account_balance(market_account(market, AccountKind.CASH)) == Decimal("25.00")


def test_the_change_given_back_is_listed_on_the_basket(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "cash")
    browser = login(admin)
    page = _text(browser.get(_url("day_basket", order)))
    assert "Monnaie rendue" not in page
    _receive(browser, order, method="cash", amount="30,00")
    assert _refund(browser, order, "5,00").status_code == 302

    page = _text(browser.get(_url("day_basket", order)))

    listed = page[page.index('id="refunds"') :]
    listed = listed[: listed.index("</ul>")]
    assert "Remboursement en espèces" in listed and "5,00 €" in listed


def test_a_basket_without_change_given_back_does_not_look_for_it(
    login, admin, market, distribution, honey
):
    order = _order(_client(market), distribution, honey, "cash")
    browser = login(admin)
    browser.get(_url("day_basket", order))  # the first visit also remembers the market
    with CaptureQueriesContext(connection) as queries:
        browser.get(_url("day_basket", order))
    assert not [q for q in queries if q["sql"].startswith('SELECT "payments_transaction"')]


def test_a_cheque_is_received_with_its_number_and_bank(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "cheque")
    browser = login(admin)
    _receive(browser, order, method="cheque", amount="25", cheque_number="0012345", bank="CCF")
    payment = order.payments.get()
    assert (payment.cheque_number, payment.bank) == ("0012345", "CCF")
    assert account_balance(market_account(market, AccountKind.CHEQUES)) == Decimal("25.00")
    assert "Chèque n° 0012345" in payment.transaction.label
    assert "0012345" in _text(browser.get(_url("day_basket", order)))


def test_a_cheque_needs_its_number(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "cheque")
    response = _receive(login(admin), order, method="cheque", amount="25", cheque_number=" ")
    assert response.status_code == 400
    assert "Indiquez le numéro du chèque." in _text(response)
    assert _expected(order).status == PaymentStatus.PENDING


def test_the_card_terminal_is_received_on_its_own_account(
    login, admin, market, distribution, honey
):
    order = _order(_client(market), distribution, honey, "card_terminal")
    _receive(login(admin), order, method="card_terminal", amount="25")
    assert order.payments.get().status == PaymentStatus.RECEIVED
    assert account_balance(market_account(market, AccountKind.CARD_TERMINAL)) == Decimal("25.00")


def test_a_transfer_is_confirmed_as_received(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "transfer")
    browser = login(admin)
    page = _text(browser.get(_url("day_basket", order)))
    assert "Virement reçu" in page and order.reference in page
    _receive(browser, order, method="transfer", amount="25,00")
    assert order.payments.get().status == PaymentStatus.RECEIVED
    assert account_balance(market_account(market, AccountKind.BANK)) == Decimal("25.00")


def test_a_transfer_line_cannot_be_received_as_cash(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "transfer")
    assert _receive(login(admin), order, method="cash", amount="25").status_code == 400
    assert _expected(order).status == PaymentStatus.PENDING


def test_the_expected_method_is_preselected_and_the_amount_prefilled(
    login, admin, market, distribution, honey
):
    order = _order(_client(market), distribution, honey, "cheque")
    response = login(admin).get(_url("day_basket", order))
    payment, form = response.context["expected"][0]
    assert form["method"].value() == "cheque"
    assert form["amount"].value() == "25,00"
    assert 'value="25,00"' in response.content.decode()


def test_an_online_payment_is_left_to_the_provider(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "cash")
    order.payments.update(method="online_card")
    browser = login(admin)
    page = browser.get(_url("day_basket", order))
    assert page.context["expected"][0][1] is None
    assert "Paiement en ligne en attente de confirmation." in _text(page)
    response = _receive(browser, order, method="cash", amount="25")
    assert "confirmé par le prestataire" in _messages(browser.get(response.url))
    assert _expected(order).status == PaymentStatus.PENDING


# -- « Sur place »: the method is decided at the pickup --------------------------------


def test_an_undecided_method_lists_the_enabled_on_site_methods_and_blocks_validation(
    login, admin, market, distribution, honey
):
    market.payment_methods = ["cash", "cheque", "transfer"]
    market.save()
    order = _order(_client(market), distribution, honey, "on_site")
    browser = login(admin)
    response = browser.get(_url("day_basket", order))
    _payment, form = response.context["expected"][0]
    assert form["method"].value() in (None, "")
    assert [value for value, _label in form.fields["method"].choices] == ["", "cash", "cheque"]
    text = _text(response)
    assert "Choisissez le moyen de paiement utilisé (25,00 € à régler sur place)." in text
    assert 'disabled aria-describedby="blockers"' in text

    response = browser.post(_url("day_basket_validate", order), follow=True)
    assert "ne peut pas encore être validé" in _messages(response)
    order.refresh_from_db()
    assert not order.is_validated


def test_an_undecided_method_must_be_chosen_to_receive(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "on_site")
    response = _receive(login(admin), order, method="", amount="25")
    assert response.status_code == 400
    assert _expected(order).status == PaymentStatus.PENDING


def test_an_undecided_method_decided_at_the_pickup_lets_the_basket_be_validated(
    login, admin, market, distribution, honey
):
    order = _order(_client(market), distribution, honey, "on_site")
    browser = login(admin)
    _receive(browser, order, method="card_terminal", amount="25")
    assert order.payments.get().method == "card_terminal"
    response = browser.post(_url("day_basket_validate", order))
    assert response.url == _day_url(distribution)
    order.refresh_from_db()
    assert order.validated_by == admin.user


# -- Partial and over-payments, change, « Non payé » -------------------------------------


def test_a_partial_payment_leaves_the_rest_due_on_the_balance(
    login, admin, market, distribution, honey
):
    member = _client(market)
    order = _order(member, distribution, honey, "cash")
    browser = login(admin)
    response = _receive(browser, order, method="cash", amount="10,00")
    assert "15,00 € de moins que prévu" in _messages(browser.get(response.url))
    assert client_account(member).held == Decimal("-15.00")
    page = browser.get(_url("day_basket", order))
    assert page.context["order"].due == Decimal("15.00")
    assert page.context["add_form"]["amount"].value() == "15,00"


def test_an_overpayment_stays_as_credit_and_change_can_be_given(
    login, admin, market, distribution, honey
):
    member = _client(market)
    order = _order(member, distribution, honey, "cash")
    browser = login(admin)
    response = _receive(browser, order, method="cash", amount="30,00")
    assert "5,00 € de plus que prévu" in _messages(browser.get(response.url))
    assert client_account(member).held == Decimal("5.00")
    page = browser.get(_url("day_basket", order))
    assert page.context["show_refund"]
    assert page.context["refund_form"]["amount"].value() == "5,00"
    assert "laissez-le sur son compte" in _text(page)

    assert _refund(browser, order, "5,00").status_code == 302
    assert client_account(member).held == Decimal("0.00")
    assert account_balance(market_account(market, AccountKind.CASH)) == Decimal("25.00")
    refund = Transaction.objects.get(kind=TransactionKind.REFUND)
    assert (refund.order, refund.created_by) == (order, admin.user)


def test_change_beyond_the_credit_is_refused_in_french(login, admin, market, distribution, honey):
    member = _client(market)
    order = _order(member, distribution, honey, "cash")
    browser = login(admin)
    _receive(browser, order, method="cash", amount="30,00")
    response = _refund(browser, order, "8,00")
    assert response.status_code == 400
    assert "Le remboursement dépasse l'avoir du client (5,00 €)." in _text(response)
    assert client_account(member).held == Decimal("5.00")
    assert not Transaction.objects.filter(kind=TransactionKind.REFUND).exists()


def test_not_paid_cancels_the_expected_payment_and_the_debt_stays(
    login, admin, market, distribution, honey
):
    member = _client(market)
    order = _order(member, distribution, honey, "cheque")
    browser = login(admin)
    response = browser.post(_url("day_payment_cancel", order, _expected(order).pk))
    assert response.status_code == 302
    payment = order.payments.get()
    assert (payment.status, payment.received_by) == (PaymentStatus.CANCELLED, admin.user)
    assert client_account(member).held == Decimal("-25.00")
    # Nothing left to settle at the pickup: the basket can be validated, unpaid.
    browser.post(_url("day_basket_validate", order))
    order.refresh_from_db()
    assert order.is_validated
    rows = browser.get(_day_url(distribution), {"filtre": "impayes"}).context["rows"]
    assert [row.pk for row in rows] == [order.pk]


def test_receiving_a_payment_marked_not_paid_says_so(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "cash")
    payment = _expected(order)
    browser = login(admin)
    browser.post(_url("day_payment_cancel", order, payment.pk))
    response = _receive(browser, order, payment, method="cash", amount="25")
    assert response.status_code == 302
    assert "marqué non payé" in _messages(browser.get(response.url))
    assert not Transaction.objects.filter(kind=TransactionKind.PAYMENT).exists()


def test_marking_a_received_payment_not_paid_is_refused(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "cash")
    payment = _expected(order)
    browser = login(admin)
    _receive(browser, order, method="cash", amount="25")
    response = browser.post(_url("day_payment_cancel", order, payment.pk), follow=True)
    assert "déjà encaissé" in _messages(response)
    assert order.payments.get().status == PaymentStatus.RECEIVED


def test_half_cash_half_cheque(login, admin, market, distribution, honey):
    member = _client(market)
    order = _order(member, distribution, honey, "cash")
    browser = login(admin)
    _receive(browser, order, method="cash", amount="12,50")
    response = _add(browser, order, method="cheque", amount="12,50", cheque_number="778", bank="")
    assert response.status_code == 302
    methods = sorted(order.payments.values_list("method", "amount", "status"))
    assert methods == [
        ("cash", Decimal("12.50"), PaymentStatus.RECEIVED),
        ("cheque", Decimal("12.50"), PaymentStatus.RECEIVED),
    ]
    cheque = order.payments.get(method="cheque")
    assert (cheque.cheque_number, cheque.order, cheque.distribution) == ("778", order, distribution)
    assert client_account(member).held == Decimal("0.00")


def test_a_bad_amount_is_explained(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "cash")
    response = _add(login(admin), order, method="cash", amount="12,505")
    assert response.status_code == 400
    assert "Le montant ne peut pas avoir plus de 2 décimales." in _text(response)


# -- One effect however often a form is sent ------------------------------------------


def test_receiving_twice_posts_once(login, admin, market, distribution, honey):
    member = _client(market)
    order = _order(member, distribution, honey, "cash")
    payment = _expected(order)
    browser = login(admin)
    _receive(browser, order, payment, method="cash", amount="25")
    response = _receive(browser, order, payment, method="cash", amount="25")
    assert "déjà encaissé" in _messages(browser.get(response.url))
    assert Transaction.objects.filter(kind=TransactionKind.PAYMENT).count() == 1
    assert client_account(member).held == Decimal("0.00")


def test_adding_a_payment_twice_with_the_same_form_posts_once(
    login, admin, market, distribution, honey
):
    member = _client(market)
    order = _order(member, distribution, honey, "cash")
    browser = login(admin)
    _add(browser, order, method="cash", amount="5")
    _add(browser, order, method="cash", amount="5")
    assert order.payments.filter(status=PaymentStatus.RECEIVED).count() == 1
    _add(browser, order, token="c" * 32, method="cash", amount="5")
    assert order.payments.filter(status=PaymentStatus.RECEIVED).count() == 2


def test_a_cheque_added_again_from_a_new_form_is_refused(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "cash")
    browser = login(admin)
    _add(browser, order, method="cheque", amount="5", cheque_number="778 A", bank="CIC")

    response = _add(
        browser, order, token="c" * 32, method="cheque", amount="5", cheque_number="778a", bank=""
    )

    assert response.status_code == 400
    assert "Le chèque n° 778 A de ce client est déjà enregistré (le " in _text(response)
    assert order.payments.filter(method="cheque").count() == 1


def test_an_expected_cheque_is_not_received_with_a_number_already_recorded(
    login, admin, market, distribution, honey
):
    member = _client(market)
    first = _order(member, distribution, honey, "cash")
    browser = login(admin)
    _add(browser, first, method="cheque", amount="5", cheque_number="778")
    later = _order(member, DistributionFactory(market=market), honey, "cheque")

    response = _receive(browser, later, method="cheque", amount="25", cheque_number="778")

    assert response.status_code == 400
    assert "Le chèque n° 778 de ce client est déjà enregistré" in _text(response)
    assert _expected(later).status == PaymentStatus.PENDING


def test_receiving_a_cheque_twice_with_the_same_form_posts_once(
    login, admin, market, distribution, honey
):
    member = _client(market)
    order = _order(member, distribution, honey, "cheque")
    browser = login(admin)
    _receive(browser, order, method="cheque", amount="25", cheque_number="778")

    response = _receive(
        browser, order, order.payments.get(), method="cheque", amount="25", cheque_number="778"
    )

    assert response.status_code == 302
    assert Transaction.objects.filter(kind=TransactionKind.PAYMENT).count() == 1


def test_giving_change_twice_with_the_same_form_posts_once(
    login, admin, market, distribution, honey
):
    member = _client(market)
    order = _order(member, distribution, honey, "cash")
    browser = login(admin)
    _receive(browser, order, method="cash", amount="40")
    _refund(browser, order, "5")
    _refund(browser, order, "5")
    assert Transaction.objects.filter(kind=TransactionKind.REFUND).count() == 1
    assert client_account(member).held == Decimal("10.00")


def test_a_form_without_a_token_is_refused(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "cash")
    response = _add(login(admin), order, token="pas-un-jeton", method="cash", amount="5")
    assert response.status_code == 400
    assert "Formulaire expiré" in _text(response)


# -- Validating a basket locks it --------------------------------------------------------


def test_a_validated_basket_shows_who_validated_it_and_no_forms(
    login, admin, market, distribution, honey
):
    order = _order(_client(market), distribution, honey, "cash")
    browser = login(admin)
    _receive(browser, order, method="cash", amount="25")
    response = browser.post(_url("day_basket_validate", order), follow=True)
    assert f"Panier n° {order.number} de Léa Dubois validé." in _messages(response)
    page = browser.get(_url("day_basket", order))
    text = _text(page)
    assert f"Validé par {admin.user.display_name} le" in text
    assert "Encaisser" not in text and "Ajouter le paiement" not in text
    assert "Valider le panier" not in text
    history = reverse("client_history", args=[market.slug, order.membership_id])
    assert history in text


def test_a_validated_basket_refuses_payments(login, admin, market, distribution, honey):
    member = _client(market)
    order = _order(member, distribution, honey, "transfer")
    browser = login(admin)
    browser.post(_url("day_basket_validate", order))  # the transfer may still come
    order.refresh_from_db()
    assert order.is_validated
    response = _receive(browser, order, method="transfer", amount="25")
    assert "Ce panier est validé" in _messages(browser.get(response.url))
    response = _add(browser, order, method="cash", amount="25")
    page = browser.get(response.url)
    assert "Ce panier est validé" in _messages(page)
    assert "Toujours attendus" in _text(page)
    assert _expected(order).status == PaymentStatus.PENDING
    assert client_account(member).held == Decimal("-25.00")


def test_validating_twice_is_harmless(login, admin, market, distribution, honey):
    order = _order(_client(market), distribution, honey, "cagnotte")
    browser = login(admin)
    browser.post(_url("day_basket_validate", order))
    order.refresh_from_db()
    first = order.validated_at
    response = browser.post(_url("day_basket_validate", order), follow=True)
    assert "déjà validé" in _messages(response)
    order.refresh_from_db()
    assert order.validated_at == first


def test_the_last_basket_validated_validates_the_distribution(
    login, admin, market, distribution, honey
):
    first = _order(_client(market), distribution, honey, "cagnotte")
    second = _order(_client(market, "Hugo", "Petit"), distribution, honey, "cagnotte")
    distribution.status = DistributionStatus.CLOSED
    distribution.save()
    browser = login(admin)
    browser.post(_url("day_basket_validate", first))
    distribution.refresh_from_db()
    assert distribution.status != DistributionStatus.VALIDATED
    browser.post(_url("day_basket_validate", second))
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.VALIDATED


# -- Cagnotte mode ---------------------------------------------------------------------------


def test_in_cagnotte_mode_nothing_is_expected_and_a_regularization_is_free(
    login, admin, market, distribution, honey
):
    market.cagnotte_mode = True
    market.save()
    member = _client(market)
    order = _order(member, distribution, honey, "")
    browser = login(admin)
    page = browser.get(_url("day_basket", order))
    assert page.context["expected"] == []
    assert page.context["add_form"]["amount"].value() is None
    assert "Mode cagnotte" in _text(page)

    _add(browser, order, method="transfer", amount="40,00")
    assert client_account(member).held == Decimal("15.00")
    before = Transaction.objects.count()
    browser.post(_url("day_basket_validate", order))
    order.refresh_from_db()
    assert order.is_validated
    assert Transaction.objects.count() == before  # validating records only the order


def test_a_distribution_whose_orders_closed_by_the_clock_is_validated_on_its_page(
    login, admin, market, distribution, honey
):
    """Every basket validated during the pickup, orders closing at midnight by the clock."""
    order = _order(_client(market), distribution, honey, "cagnotte")
    browser = login(admin)
    browser.post(_url("day_basket_validate", order))
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.OPEN
    distribution.orders_close_at = (
        distribution.orders_open_at
        + (distribution.orders_close_at - distribution.orders_open_at) / 100
    )
    distribution.save()

    page = browser.get(_day_url(distribution))

    assert page.context["distribution"].state == "validated"


def test_a_payment_reversed_from_the_history_shows_as_cancelled_with_its_reason(
    login, admin, market, distribution, honey
):
    from payments.services import transaction_correct

    order = _order(_client(market), distribution, honey, "cheque")
    browser = login(admin)
    _receive(browser, order, method="cheque", amount="25,00", cheque_number="4471", bank="CCM")
    payment = order.payments.get()
    transaction_correct(
        txn=payment.transaction, reason="chèque sans provision", corrected_by=admin.user
    )

    page = _text(browser.get(_url("day_basket", order)))

    not_paid = page.split('id="not-paid"')[1].split("</ul>")[0]
    assert "n° 4471" in not_paid and "reçu, puis annulé par" in not_paid
    assert "motif : chèque sans provision" in not_paid


@pytest.mark.parametrize("typed", ["²", "١٢", "99999999999999999999999"])
def test_a_search_for_digits_that_are_no_basket_number_finds_nothing_without_failing(
    login, admin, market, distribution, honey, typed
):
    _order(_client(market), distribution, honey, "cash")

    response = login(admin).get(_day_url(distribution), {"q": typed})

    assert response.status_code == 200
    assert "Léa Dubois" not in _text(response).split("</form>", 1)[-1]
