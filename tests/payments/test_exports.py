"""PDF exports built by a job: asked for on the page, built with progress, downloaded once ready."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from pypdf import PdfReader

from payments.exports import balances
from payments.exports.balances import HTML_DONE, LAYOUT_DONE, balances_pdf
from payments.exports.services import Progress, export_ask, export_build, exports_purge
from payments.models import Export, ExportKind, ExportStatus
from payments.services import opening_balance_record
from payments.tasks import export_balances
from tests.factories import MembershipFactory, UserFactory
from tests.jobs import queued, run_jobs

pytestmark = pytest.mark.django_db


def _client(market, held, first, last):
    user = UserFactory(first_name=first, last_name=last)
    membership = MembershipFactory(market=market, user=user)
    opening_balance_record(
        membership=membership, amount=Decimal(held), label="Reprise", recorded_by=user
    )
    return membership


@pytest.fixture
def clients(market):
    return [
        _client(market, "-12.50", "Marie", "Dupont"),
        _client(market, "30.00", "Paul", "Martin"),
    ]


def _ask(browser, market, **filters):
    url = reverse("balance_pdf", args=[market.slug])
    return browser.post(f"{url}?{urlencode(filters)}" if filters else url)


def _url(name, export):
    return reverse(name, args=[export.market.slug, export.pk])


def _pdf_text(response) -> str:
    content = b"".join(response.streaming_content)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())


def test_asking_for_the_pdf_queues_a_job_and_shows_the_progress_page(
    login, market, treasurer, clients
):
    response = _ask(login(treasurer), market, etat="debiteurs")

    export = Export.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url("export_detail", export)
    assert export.status == ExportStatus.QUEUED and export.requested_by == treasurer.user
    assert export.kind == ExportKind.BALANCES and export.params == {"etat": "debiteurs"}
    assert queued("export_balances") == [
        {"task": "export_balances", "args": {"export_id": export.pk}, "lock": None}
    ]
    page = login(treasurer).get(response["Location"]).content.decode()
    assert 'class="progress' in page and 'aria-valuenow="0"' in page
    assert f'data-export-status="{_url("export_status", export)}"' in page
    assert '<meta http-equiv="refresh"' in page  # inside <noscript>, without script
    assert "Télécharger" not in page


def test_the_web_request_does_not_lay_out_the_pdf(login, market, treasurer, clients, monkeypatch):
    def no_layout_here(*args, **kwargs):
        raise AssertionError("laid out in the request")

    monkeypatch.setattr("payments.exports.balances.pdf_write", no_layout_here)
    assert _ask(login(treasurer), market).status_code == 302


def test_the_job_builds_the_pdf_and_the_page_then_offers_the_download(
    login, market, treasurer, clients
):
    browser = login(treasurer)
    _ask(browser, market, etat="debiteurs")
    export = Export.objects.get()

    run_jobs()

    export.refresh_from_db()
    assert export.status == ExportStatus.DONE and export.progress == 100
    assert export.finished_at is not None
    page = browser.get(_url("export_detail", export)).content.decode()
    assert "Télécharger" in page and 'http-equiv="refresh"' not in page
    assert "data-export-status" not in page
    response = browser.get(_url("export_download", export))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="soldes-clients-montreuil-'
    )
    text = _pdf_text(response)
    assert "Marché de Montreuil" in text and "Solde des clients" in text
    assert "Clients : débiteurs" in text
    assert "Dupont Marie" in text and "-12,50 €" in text
    assert "Martin Paul" not in text


def test_the_status_says_how_far_the_job_is(login, market, treasurer, clients):
    browser = login(treasurer)
    _ask(browser, market)
    export = Export.objects.get()
    assert browser.get(_url("export_status", export)).json() == {
        "status": "queued",
        "progress": 0,
        "finished": False,
    }

    run_jobs()

    assert browser.get(_url("export_status", export)).json() == {
        "status": "done",
        "progress": 100,
        "finished": True,
    }


def test_the_job_writes_its_progress_as_it_lays_out_the_pages(market, treasurer, monkeypatch):
    for n in range(120):  # about four pages
        MembershipFactory(market=market, user__last_name=f"Client{n:03}")
    export = Export.objects.create(market=market, requested_by=treasurer.user, kind="balances")
    written = []
    report = Progress.__call__

    def spy(self, percent):
        report(self, percent)
        written.append(Export.objects.values_list("progress", flat=True).get(pk=export.pk))

    monkeypatch.setattr(Progress, "__call__", spy)

    export_build(export.pk, balances_pdf)

    steps = sorted(set(written))
    assert written == sorted(written)  # never backwards
    assert len([p for p in steps if HTML_DONE < p < LAYOUT_DONE]) >= 2  # page by page
    assert Export.objects.get(pk=export.pk).progress == 100  # with the stored file


def test_a_long_export_laid_out_in_parts_reads_as_one_document(market, treasurer, monkeypatch):
    """Past ONE_LAYOUT_MAX rows the layout goes a chunk at a time: nothing of it shows."""
    monkeypatch.setattr(balances, "CHUNK", 40)
    monkeypatch.setattr(balances, "ONE_LAYOUT_MAX", 50)
    for n in range(130):  # four parts
        MembershipFactory(market=market, user__first_name="Client", user__last_name=f"N{n:03}")
    export = Export.objects.create(market=market, requested_by=treasurer.user, kind="balances")

    export_build(export.pk, balances_pdf)

    export.refresh_from_db()
    texts = [page.extract_text() for page in PdfReader(export.file.open("rb")).pages]
    names = [word for text in texts for word in text.split() if re.fullmatch(r"N\d{3}", word)]
    assert names == [f"N{n:03}" for n in range(130)]
    assert sum(text.count("Édité le") for text in texts) == 1  # the head, on the first page only
    for number, text in enumerate(texts, start=1):
        assert f"Marché de Montreuil · Solde des clients Page {number} / {len(texts)}" in text
    assert not any("Aucun client ne correspond" in text for text in texts)


def test_the_file_speaks_the_language_of_the_person_who_asked(market, treasurer, clients):
    with translation.override("en"):
        export = export_ask(
            market=market,
            user=treasurer.user,
            kind=ExportKind.BALANCES,
            params={},
            page_url="",
            task=export_balances,
        )
    run_jobs()

    export.refresh_from_db()
    assert export.language == "en"
    text = " ".join(page.extract_text() for page in PdfReader(export.file.open("rb")).pages)
    assert "Client balances" in text and "Solde des clients" not in text


def test_a_double_submit_makes_one_export_and_one_job(login, market, treasurer, clients):
    browser = login(treasurer)
    first = _ask(browser, market, etat="debiteurs")
    second = _ask(browser, market, etat="debiteurs")

    assert first["Location"] == second["Location"]
    assert Export.objects.count() == 1
    assert len(queued("export_balances")) == 1


def test_other_filters_or_a_finished_export_make_a_new_one(login, market, treasurer, clients):
    browser = login(treasurer)
    _ask(browser, market, etat="debiteurs")
    _ask(browser, market, etat="crediteurs")
    assert Export.objects.count() == 2
    run_jobs()

    _ask(browser, market, etat="debiteurs")

    assert Export.objects.count() == 3
    assert len(queued("export_balances")) == 1


def test_visiting_the_ask_address_leads_back_to_the_list(login, market, treasurer):
    response = login(treasurer).get(reverse("balance_pdf", args=[market.slug]))
    assert response.status_code == 302
    assert response["Location"] == reverse("balance_list", args=[market.slug])
    assert not Export.objects.exists()


def test_a_failed_job_is_shown_in_french_and_recorded(
    login, market, treasurer, clients, monkeypatch
):
    def broken(*args, **kwargs):
        raise OSError("fonts missing")

    monkeypatch.setattr("payments.exports.balances.pdf_write", broken)
    browser = login(treasurer)
    _ask(browser, market)

    ran = run_jobs(raise_errors=False)

    export = Export.objects.get()
    assert [r.outcome for r in ran] == ["failed"]
    assert export.status == ExportStatus.FAILED and "fonts missing" in export.error
    page = browser.get(_url("export_detail", export)).content.decode()
    assert "n&#x27;a pas pu être préparé" in page or "n'a pas pu être préparé" in page
    assert browser.get(_url("export_download", export)).status_code == 302


# -- Who may see an export ------------------------------------------------------------------


@pytest.fixture
def export(login, market, treasurer, clients):
    _ask(login(treasurer), market)
    run_jobs()
    return Export.objects.get()


@pytest.mark.parametrize("name", ["export_detail", "export_status", "export_download"])
def test_another_staff_member_of_the_market_may_download_it(login, admin, export, name):
    assert login(admin).get(_url(name, export)).status_code == 200


@pytest.mark.parametrize("name", ["export_detail", "export_status", "export_download"])
def test_a_client_of_the_market_is_refused(login, member, export, name):
    assert login(member).get(_url(name, export)).status_code == 403


@pytest.mark.parametrize("name", ["export_detail", "export_status", "export_download"])
def test_an_admin_of_another_market_finds_nothing(login, other_admin, export, name):
    assert login(other_admin).get(_url(name, export)).status_code == 404


@pytest.mark.parametrize("name", ["export_detail", "export_status", "export_download"])
def test_another_market_s_export_is_not_found_through_one_s_own(
    login, other_admin, other_market, export, name
):
    url = reverse(name, args=[other_market.slug, export.pk])
    assert login(other_admin).get(url).status_code == 404


def test_signing_in_is_required(client, export):
    client.logout()
    response = client.get(_url("export_download", export))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_client_cannot_ask_for_the_pdf(login, market, member):
    assert _ask(login(member), market).status_code == 403
    assert not Export.objects.exists()


# -- Old files ------------------------------------------------------------------------------


def test_exports_older_than_a_day_are_deleted_with_their_file(export):
    path = export.file.path
    assert open(path, "rb").read(4) == b"%PDF"

    assert exports_purge(now=timezone.now() + timedelta(hours=23)) == 0
    assert exports_purge(now=timezone.now() + timedelta(hours=25)) == 1

    assert not Export.objects.exists()
    with pytest.raises(FileNotFoundError):
        open(path, "rb")


def test_a_stray_file_older_than_a_day_is_deleted_too(export):
    stray = default_storage.save("exports/stray.pdf", ContentFile(b"%PDF-"))

    exports_purge(now=timezone.now() + timedelta(hours=1))
    assert default_storage.exists(stray) and default_storage.exists(export.file.name)
    exports_purge(now=timezone.now() + timedelta(hours=25))

    assert not default_storage.exists(stray)


def test_the_purge_is_a_periodic_job():
    from procrastinate.contrib.django import app

    periodic = {periodic_id for _name, periodic_id in app.periodic_registry.periodic_tasks}
    assert "exports_purge" in periodic
