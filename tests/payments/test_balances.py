"""« Solde des clients »: balances, filters, totals, exports and who may see them."""

import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from pypdf import PdfReader

from payments.models import Export, PaymentMethod
from payments.services import opening_balance_record, payment_record
from tests.factories import MembershipFactory, UserFactory
from tests.jobs import run_jobs

pytestmark = pytest.mark.django_db


def _client(market, held="0", *, first="Marie", last="Dupont", email=None):
    """A client of ``market`` holding ``held`` (a credit if positive, a debt if negative)."""
    user = UserFactory(first_name=first, last_name=last, **({"email": email} if email else {}))
    membership = MembershipFactory(market=market, user=user)
    amount = Decimal(held)
    if amount:
        opening_balance_record(
            membership=membership, amount=amount, label="Reprise de solde", recorded_by=user
        )
    return membership


def _settle(membership, held):
    """A debt of ``held`` paid off in cash: a balance back to zero, with movements."""
    opening_balance_record(
        membership=membership, amount=Decimal(held), label="Reprise", recorded_by=membership.user
    )
    payment_record(
        membership=membership,
        method=PaymentMethod.CASH,
        amount=-Decimal(held),
        recorded_by=membership.user,
    )


def _url(name, market, **params):
    url = reverse(name, kwargs={"market_slug": market.slug})
    return f"{url}?{urlencode(params)}" if params else url


def _names(response):
    return [row.name for row in response.context["rows"]]


@pytest.fixture
def clients(market, treasurer):
    """A debtor, a creditor and a client who is up to date; so is the treasurer, who buys too."""
    treasurer.user.first_name, treasurer.user.last_name = "Tom", "Trésorier"
    treasurer.user.save()
    _settle(treasurer, "-4.00")
    debtor = _client(market, "-12.50", first="Marie", last="Dupont", email="marie@jardin.fr")
    creditor = _client(market, "0", first="Paul", last="Martin", email="paul@ferme.fr")
    payment_record(
        membership=creditor,
        method=PaymentMethod.CHEQUE,
        amount=Decimal("30.00"),
        cheque_number="123",
        recorded_by=treasurer.user,
    )
    settled = _client(market, "-8.00", first="Zoé", last="Bernard", email="zoe@jardin.fr")
    payment_record(
        membership=settled,
        method=PaymentMethod.CASH,
        amount=Decimal("8.00"),
        recorded_by=treasurer.user,
    )
    return {"debtor": debtor, "creditor": creditor, "settled": settled}


@pytest.fixture
def treasurer_client(login, treasurer):
    return login(treasurer)


# The page


def test_page_lists_every_client_with_balance_and_state(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_list", market))
    assert response.status_code == 200
    rows = {row.name: row for row in response.context["rows"]}
    assert {name: row.held for name, row in rows.items()} == {
        "Bernard Zoé": Decimal("0.00"),
        "Dupont Marie": Decimal("-12.50"),
        "Martin Paul": Decimal("30.00"),
        "Trésorier Tom": Decimal("0.00"),
    }
    assert rows["Dupont Marie"].state.label == "Débiteur"
    assert rows["Martin Paul"].state.label == "Créditeur"
    assert rows["Bernard Zoé"].state.label == "À jour"


def test_page_shows_balances_in_euros_colored_by_state(treasurer_client, market, clients):
    html = treasurer_client.get(_url("balance_list", market)).content.decode()
    assert "<h1" in html and "Solde des clients" in html
    assert '<span class="balance-debt">-12,50\u00a0€</span>' in html
    assert '<span class="balance-credit">30,00\u00a0€</span>' in html
    assert '<span class="balance-zero">0,00\u00a0€</span>' in html


def test_client_name_links_to_their_history(treasurer_client, market, clients):
    html = treasurer_client.get(_url("balance_list", market)).content.decode()
    history = reverse("client_history", args=[market.slug, clients["debtor"].pk])
    assert f'href="{history}">Dupont Marie</a>' in html


def test_what_people_typed_is_escaped_in_the_rows(treasurer_client, market):
    user = UserFactory(first_name="<b>Léa</b>", last_name="O'Neil", email="lea&co@exemple.fr")
    MembershipFactory(market=market, user=user)
    html = treasurer_client.get(_url("balance_list", market)).content.decode()
    assert "O&#x27;Neil &lt;b&gt;Léa&lt;/b&gt;</a>" in html
    assert 'href="mailto:lea&amp;co@exemple.fr"' in html
    assert "<b>Léa" not in html


def test_a_search_that_finds_no_one_says_so(treasurer_client, market, clients):
    html = treasurer_client.get(_url("balance_list", market, q="zzzz")).content.decode()
    assert '<td colspan="4" class="text-muted">Aucun client ne correspond.</td>' in html


def test_debtors_filter_lists_only_clients_who_owe(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_list", market, etat="debiteurs"))
    assert _names(response) == ["Dupont Marie"]


def test_creditors_filter_lists_only_clients_in_credit(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_list", market, etat="crediteurs"))
    assert _names(response) == ["Martin Paul"]


def test_up_to_date_filter_lists_only_clients_with_a_zero_balance(
    treasurer_client, market, clients
):
    response = treasurer_client.get(_url("balance_list", market, etat="a-jour"))
    assert _names(response) == ["Bernard Zoé", "Trésorier Tom"]


def test_state_filter_links_are_named_for_each_state(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_list", market, q="dupont"))
    links = {link["label"]: link for link in response.context["state_links"]}
    assert list(links) == ["Tous", "Débiteurs", "Créditeurs", "À jour"]
    assert links["Débiteurs"]["query"] == "q=dupont&etat=debiteurs"
    assert links["Tous"]["active"]
    assert 'href="?q=dupont&amp;etat=debiteurs">Débiteurs</a>' in response.content.decode()


def test_search_finds_clients_by_name(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_list", market, q="martin"))
    assert _names(response) == ["Martin Paul"]


def test_search_finds_clients_by_email(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_list", market, q="jardin.fr"))
    assert _names(response) == ["Bernard Zoé", "Dupont Marie"]


def test_search_combines_with_the_state_filter(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_list", market, q="jardin.fr", etat="a-jour"))
    assert _names(response) == ["Bernard Zoé"]


def test_clients_are_sorted_by_name_by_default(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_list", market))
    assert _names(response) == ["Bernard Zoé", "Dupont Marie", "Martin Paul", "Trésorier Tom"]


def test_sort_by_name_descending_reverses_the_list(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_list", market, tri="-nom"))
    assert _names(response) == ["Trésorier Tom", "Martin Paul", "Dupont Marie", "Bernard Zoé"]


def test_sort_by_balance_puts_the_biggest_debts_first(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_list", market, tri="solde"))
    assert _names(response) == ["Dupont Marie", "Bernard Zoé", "Trésorier Tom", "Martin Paul"]


def test_sort_by_balance_descending_puts_the_biggest_credits_first(
    treasurer_client, market, clients
):
    response = treasurer_client.get(_url("balance_list", market, tri="-solde"))
    assert _names(response) == ["Martin Paul", "Bernard Zoé", "Trésorier Tom", "Dupont Marie"]


def test_sorted_column_header_links_to_the_reverse_order(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_list", market, tri="solde", etat="debiteurs"))
    sorting = response.context["sorting"]
    assert sorting["solde"] == {"query": "etat=debiteurs&tri=-solde", "order": "ascending"}
    assert sorting["nom"] == {"query": "etat=debiteurs", "order": "none"}


def test_page_shows_fifty_clients_at_a_time(treasurer_client, market, treasurer):
    for n in range(60):
        _client(market, "-1.00", first="Client", last=f"N{n:02d}")
    first = treasurer_client.get(_url("balance_list", market, etat="debiteurs"))
    second = treasurer_client.get(_url("balance_list", market, etat="debiteurs", page="2"))
    assert len(first.context["rows"]) == 50
    assert _names(second)[0] == "N50 Client"
    assert len(second.context["rows"]) == 10
    assert first.context["query_string"] == "etat=debiteurs"
    assert 'href="?etat=debiteurs&amp;page=2"' in first.content.decode()


def test_export_buttons_carry_the_current_filters(treasurer_client, market, clients):
    html = treasurer_client.get(_url("balance_list", market, q="marie", tri="-solde")).content
    csv_url = reverse("balance_csv", args=[market.slug])
    pdf_url = reverse("balance_pdf", args=[market.slug])
    assert f'href="{csv_url}?q=marie&amp;tri=-solde"'.encode() in html
    # The PDF is asked for (a job lays it out): a form, with the filters in its address.
    assert f'<form method="post" action="{pdf_url}?q=marie&amp;tri=-solde"'.encode() in html


@pytest.mark.parametrize(
    "params",
    [
        {"etat": "nimportequoi"},
        {"tri": "user__password"},
        {"tri": "; drop table accounts_user"},
        {"page": "abc"},
        {"page": "-1"},
        {"page": "9999"},
        {"q": "a\x00b"},
        {"q": "très " * 500},
    ],
)
def test_invalid_parameters_fall_back_to_defaults(treasurer_client, market, clients, params):
    response = treasurer_client.get(_url("balance_list", market, **params))
    assert response.status_code == 200


def test_unknown_state_and_sort_show_everyone_by_name(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_list", market, etat="x", tri="y"))
    assert _names(response) == ["Bernard Zoé", "Dupont Marie", "Martin Paul", "Trésorier Tom"]


# Totals


def test_totals_add_up_debts_and_credits_to_the_cent(treasurer_client, market, treasurer):
    for held in ("-12.50", "-0.01", "-100.00", "30.00", "0.10", "0"):
        _client(market, held)
    totals = treasurer_client.get(_url("balance_list", market)).context["totals"]
    assert totals.owed_to_market == Decimal("112.51")
    assert totals.held_for_clients == Decimal("30.10")
    assert totals.net == Decimal("-82.41")
    # The treasurer, who never bought, is no client.
    assert (totals.debtors, totals.creditors, totals.settled, totals.clients) == (3, 2, 1, 6)


def test_totals_cover_the_whole_market_whatever_the_search_or_filter(
    treasurer_client, market, clients
):
    response = treasurer_client.get(_url("balance_list", market, q="martin", etat="crediteurs"))
    totals = response.context["totals"]
    assert (totals.owed_to_market, totals.held_for_clients) == (Decimal("12.50"), Decimal("30.00"))
    html = response.content.decode()
    assert 'id="total-owed">12,50\u00a0€' in html
    assert 'id="total-credit">30,00\u00a0€' in html
    assert 'id="total-net">17,50\u00a0€' in html


def test_totals_leave_out_other_markets(treasurer_client, market, other_market, clients):
    _client(other_market, "-500.00")
    totals = treasurer_client.get(_url("balance_list", market)).context["totals"]
    assert totals.owed_to_market == Decimal("12.50")
    assert totals.clients == 4


def test_other_markets_clients_are_not_listed(treasurer_client, market, other_market, clients):
    _client(other_market, "-500.00", first="Ailleurs", last="Quelquun")
    response = treasurer_client.get(_url("balance_list", market))
    assert "Quelquun Ailleurs" not in _names(response)


def test_an_empty_market_has_zero_totals(login, market, admin):
    response = login(admin).get(_url("balance_list", market, etat="debiteurs"))
    totals = response.context["totals"]
    assert (totals.owed_to_market, totals.held_for_clients, totals.net) == (0, 0, 0)
    assert "Aucun client ne correspond." in response.content.decode()


# Performance


def _count_page_queries(client, market):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url("balance_list", market))
    assert response.status_code == 200
    # Inside the test's transaction, the session save adds savepoints; they are not reads.
    return len([q for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))])


def test_page_costs_the_same_queries_for_3_or_60_clients(treasurer_client, market, treasurer):
    for n in range(3):
        _client(market, "-1.00", last=f"A{n}")
    _count_page_queries(treasurer_client, market)  # the session settles on the first visit
    with_few = _count_page_queries(treasurer_client, market)
    for n in range(57):
        _client(market, f"{n}.25", last=f"B{n}")
    with_many = _count_page_queries(treasurer_client, market)
    assert with_few == with_many
    # Session, user, membership, markets menu; count, one page, totals; session save.
    assert with_many <= 8


# CSV export


def _csv(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def test_csv_is_utf8_with_bom_semicolons_and_french_decimals(
    treasurer_client, market, treasurer, clients
):
    response = treasurer_client.get(_url("balance_csv", market))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = _csv(response)
    assert text.startswith("\ufeff")
    assert text[1:].splitlines() == [
        "Nom;Prénom;E-mail;Solde;État",
        "Bernard;Zoé;zoe@jardin.fr;0,00;À jour",
        "Dupont;Marie;marie@jardin.fr;-12,50;Débiteur",
        "Martin;Paul;paul@ferme.fr;30,00;Créditeur",
        f"Trésorier;Tom;{treasurer.user.email};0,00;À jour",
    ]


def test_csv_has_no_thousands_separator(treasurer_client, market, treasurer):
    _client(market, "-1234.50", email="gros@exemple.fr")
    text = _csv(treasurer_client.get(_url("balance_csv", market, etat="debiteurs")))
    assert "gros@exemple.fr;-1234,50;Débiteur" in text


def test_csv_follows_the_search_filter_and_sort(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_csv", market, q="jardin.fr", tri="-nom"))
    lines = _csv(response).splitlines()[1:]
    assert [line.split(";")[0] for line in lines] == ["Dupont", "Bernard"]


def test_csv_has_every_row_not_only_one_page(treasurer_client, market, treasurer):
    for n in range(60):
        _client(market, "-1.00", last=f"N{n:02d}")
    text = _csv(treasurer_client.get(_url("balance_csv", market, etat="debiteurs")))
    assert len(text.splitlines()) == 61


def test_csv_is_a_dated_attachment_named_after_the_market(treasurer_client, market, clients):
    response = treasurer_client.get(_url("balance_csv", market))
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="soldes-clients-montreuil-{today}.csv"'
    )


def test_csv_keeps_spreadsheets_from_running_a_name_as_a_formula(
    treasurer_client, market, treasurer
):
    _client(market, "-1.00", first="=HYPERLINK(1)", last="Malin")
    text = _csv(treasurer_client.get(_url("balance_csv", market, etat="debiteurs")))
    assert "Malin;'=HYPERLINK(1);" in text


# PDF export (laid out by a job: tests/payments/test_exports.py for the job itself)


def _pdf_text(response) -> str:
    content = b"".join(response.streaming_content)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())


def _pdf(browser, market, **params):
    """Ask for the PDF as the button does, let the job run, download it."""
    asked = browser.post(_url("balance_pdf", market, **params))
    assert asked.status_code == 302
    run_jobs()
    export = Export.objects.get(market=market, params=params)
    return browser.get(reverse("export_download", args=[market.slug, export.pk]))


def test_pdf_shows_the_market_the_filter_the_rows_and_the_totals(treasurer_client, market, clients):
    response = _pdf(treasurer_client, market, etat="debiteurs")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="soldes-clients-montreuil-'
    )
    text = _pdf_text(response)
    assert "Marché de Montreuil" in text
    assert "Solde des clients" in text
    assert "Édité le" in text
    assert "Clients : débiteurs" in text
    assert "Dupont Marie" in text and "-12,50 €" in text
    assert "Martin Paul" not in text
    assert "Dû au marché 12,50 €" in text
    assert "Avoirs des clients 30,00 €" in text
    assert "17,50 €" in text


def test_a_pdf_with_no_client_left_by_the_filter_says_so(treasurer_client, market, clients):
    text = _pdf_text(_pdf(treasurer_client, market, q="xyzzy"))
    assert "Aucun client ne correspond." in text
    assert "Recherche : « xyzzy »" in text


# Access


@pytest.mark.parametrize("name", ["balance_list", "balance_csv", "balance_pdf"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, market, name):
    response = client.get(_url(name, market))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["balance_list", "balance_csv", "balance_pdf"])
def test_clients_may_not_see_other_clients_balances(login, market, member, name):
    assert login(member).get(_url(name, market)).status_code == 403


@pytest.mark.parametrize("role", ["treasurer", "admin"])
def test_treasurers_and_admins_see_the_page(login, market, role, request):
    membership = request.getfixturevalue(role)
    assert login(membership).get(_url("balance_list", market)).status_code == 200


@pytest.mark.parametrize("name", ["balance_list", "balance_csv", "balance_pdf"])
def test_an_admin_of_another_market_gets_not_found(login, market, other_admin, name):
    assert login(other_admin).get(_url(name, market)).status_code == 404
