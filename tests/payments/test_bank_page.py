"""« Banque »: the treasurer imports a statement file and sees what it brought."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from payments.bank import ParsedLine, ParsedStatement, StatementError
from payments.bank import forms as bank_forms
from payments.models import BankLine, BankStatement
from payments.services import payment_record
from tests.factories import MarketFactory, MembershipFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

IBAN = "FR7630006000011234567890189"
LINES = (
    ParsedLine(
        booked_on=datetime.date(2026, 12, 2),
        value_on=None,
        amount=Decimal("25.00"),
        label="VIR SEPA DUPONT MARIE",
        bank_id="REF-1",
        payer="DUPONT MARIE",
        reference="2026-12-08-0012",
    ),
    ParsedLine(
        booked_on=datetime.date(2026, 12, 3),
        value_on=None,
        amount=Decimal("-4.50"),
        label="FRAIS TENUE DE COMPTE",
        bank_id="REF-2",
        payer="",
        reference="",
    ),
)


def parsed(account=IBAN, closing="120.50") -> ParsedStatement:
    return ParsedStatement(
        format="camt053",
        account=account,
        currency="EUR",
        opening=Decimal("100.00"),
        closing=Decimal(closing),
        opening_on=datetime.date(2026, 12, 1),
        closing_on=datetime.date(2026, 12, 7),
        lines=LINES,
    )


@pytest.fixture
def market(db):
    return MarketFactory(name="Marché de Montreuil", slug="montreuil", iban=IBAN)


@pytest.fixture
def reads(monkeypatch):
    """What the statement reader gives for any file (its own tests read real files)."""
    result = {"statement": parsed()}

    def fake(data, layout=None):
        if isinstance(result["statement"], Exception):
            raise result["statement"]
        return result["statement"]

    monkeypatch.setattr(bank_forms, "statement_parse", fake)
    return result


def url(market):
    return reverse("bank_statements", args=[market.slug])


def upload(client, market, content=b"<Document/>", name="releve.xml"):
    return client.post(url(market), {"file": SimpleUploadedFile(name, content)}, follow=True)


def test_the_treasurer_imports_a_statement_and_sees_its_lines(login, market, treasurer, reads):
    page = upload(login(treasurer), market)

    text = page.content.decode()
    assert page.redirect_chain[-1][0] == url(market)
    assert "Relevé importé\u00a0: 2 lignes nouvelles sur 2." in text
    assert "VIR SEPA DUPONT MARIE" in text and "25,00" in text and "-4,50" in text
    assert "soldes cohérents" in text and "120,50" in text
    assert BankLine.objects.filter(market=market).count() == 2
    assert BankStatement.objects.get().imported_by == treasurer.user


def test_the_same_file_sent_twice_stores_nothing_more(login, market, treasurer, reads):
    client = login(treasurer)
    upload(client, market)

    page = upload(client, market)

    assert "Ce fichier a déjà été importé le" in page.content.decode()
    assert BankStatement.objects.count() == 1 and BankLine.objects.count() == 2


def test_a_file_that_is_not_a_statement_is_refused_on_the_form(login, market, treasurer, reads):
    reads["statement"] = StatementError("Ce fichier n'est pas un relevé bancaire reconnu.")

    page = upload(login(treasurer), market, b"hello")

    assert page.status_code == 400
    assert "Ce fichier n&#x27;est pas un relevé bancaire reconnu." in page.content.decode()
    assert not BankStatement.objects.exists()


def test_a_statement_of_another_account_is_refused_on_the_form(login, market, treasurer, reads):
    reads["statement"] = parsed(account="FR1420041010050500013M02606")

    page = upload(login(treasurer), market)

    assert page.status_code == 400
    assert "pas du compte du marché" in page.content.decode()
    assert not BankLine.objects.exists()


def test_a_file_over_ten_megabytes_is_refused(login, market, treasurer, reads):
    page = upload(login(treasurer), market, b"0" * (10 * 1024 * 1024 + 1))

    assert page.status_code == 400
    assert "Ce fichier dépasse 10 Mo" in page.content.decode()
    assert not BankStatement.objects.exists()


def test_balances_that_do_not_add_up_are_said(login, market, treasurer, reads):
    reads["statement"] = parsed(closing="130.00")

    text = upload(login(treasurer), market).content.decode()

    assert "ne font pas le solde de clôture du relevé" in text
    assert "soldes incohérents" in text


def test_the_page_shows_the_bank_account_of_the_books_beside_the_bank(login, market, treasurer):
    member = MembershipFactory(market=market)
    payment_record(
        membership=member, method="transfer", amount=Decimal("42.00"), recorded_by=treasurer.user
    )

    text = login(treasurer).get(url(market)).content.decode()

    assert "Dans les comptes du marché" in text and "42,00" in text
    assert "aucun relevé avec un solde" in text


def test_only_the_markets_staff_may_see_its_bank(login, market, reads):
    client = MembershipFactory(market=market, role=Role.CLIENT)
    elsewhere = MembershipFactory(role=Role.TREASURER)

    assert login(client).get(url(market)).status_code == 403
    assert login(elsewhere).get(url(market)).status_code == 404
    assert upload(login(client), market).status_code == 403
    assert not BankStatement.objects.exists()
