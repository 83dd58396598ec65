"""A CSV export no preset knows: the treasurer says which column is which, once."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from payments.models import BankCsvLayout, BankLine, StatementUpload
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

UNKNOWN_LAYOUT = (
    "Relevé du compte courant\n"
    "\n"
    "Jour;Intitulé;Somme;Catégorie\n"
    "02/12/2026;VIR SEPA DUPONT MARIE 2026-12-08-0012;25,00;Virement\n"
    "03/12/2026;FRAIS TENUE DE COMPTE;-4,50;Frais\n"
).encode("cp1252")


def page(market):
    return reverse("bank_statements", args=[market.slug])


def upload(client, market, data=UNKNOWN_LAYOUT):
    return client.post(page(market), {"file": SimpleUploadedFile("export.csv", data)})


def columns(**chosen):
    return {"date_column": "Jour", "label_column": "Intitulé", "date_format": "%d/%m/%Y"} | chosen


def test_the_treasurer_says_the_columns_once_and_the_next_file_is_read_with_them(
    login, market, treasurer
):
    client = login(treasurer)
    response = upload(client, market)
    pending = StatementUpload.objects.get()
    assert response.url == reverse("bank_columns", args=[market.slug, pending.pk])
    form_page = client.get(response.url).content.decode()
    assert "Intitulé" in form_page and "Catégorie" in form_page

    done = client.post(response.url, columns(amount_column="Somme"), follow=True)

    assert "Relevé importé\u00a0: 2 lignes nouvelles sur 2." in done.content.decode()
    amounts = sorted(BankLine.objects.values_list("amount", flat=True))
    assert amounts == [Decimal("-4.50"), Decimal("25.00")]
    assert not StatementUpload.objects.exists()
    assert BankCsvLayout.objects.get(market=market).amount_column == "Somme"

    later = UNKNOWN_LAYOUT.replace(b"03/12/2026;FRAIS", b"05/12/2026;FRAIS")
    again = client.post(
        page(market), {"file": SimpleUploadedFile("export.csv", later)}, follow=True
    )
    assert "1 ligne nouvelle sur 2." in again.content.decode()


def test_columns_that_do_not_read_the_file_are_refused_on_the_form(login, market, treasurer):
    client = login(treasurer)
    url = upload(client, market).url

    neither = client.post(url, columns())
    wrong = client.post(url, columns(amount_column="Catégorie"))

    assert neither.status_code == wrong.status_code == 400
    assert "soit la colonne du montant" in neither.content.decode()
    assert not BankLine.objects.exists() and StatementUpload.objects.count() == 1


def test_the_columns_sent_twice_import_the_file_once(login, market, treasurer):
    client = login(treasurer)
    url = upload(client, market).url
    client.post(url, columns(amount_column="Somme"))

    second = client.post(url, columns(amount_column="Somme"), follow=True)

    assert "Ce fichier a déjà été importé." in second.content.decode()
    assert BankLine.objects.count() == 2


def test_another_markets_file_is_not_offered(login, market, treasurer, other_market):
    url = upload(login(treasurer), market).url
    stranger = MembershipFactory(market=other_market, role=Role.TREASURER)
    pending = StatementUpload.objects.get()

    response = login(stranger).post(
        reverse("bank_columns", args=[other_market.slug, pending.pk]),
        columns(amount_column="Somme"),
    )

    assert response.status_code == 302 and url.endswith(f"/{pending.pk}/")
    assert not BankLine.objects.exists() and StatementUpload.objects.count() == 1
