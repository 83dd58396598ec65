"""The treasurer asks for the « Solde des clients » PDF: a progress bar, then « Télécharger »."""

from decimal import Decimal

from playwright.sync_api import expect

from accounts.models import Role
from payments.models import Export
from payments.services import opening_balance_record
from tests.factories import MembershipFactory, UserFactory
from tests.jobs import run_jobs


def test_the_pdf_button_shows_a_progress_bar_then_the_download_link(
    page, log_in, market, treasurer
):
    client = MembershipFactory(
        market=market, user=UserFactory(first_name="Hugo", last_name="Petit"), role=Role.CLIENT
    )
    opening_balance_record(
        membership=client, amount=Decimal("-20.00"), label="Report", recorded_by=treasurer.user
    )
    log_in(treasurer)
    page.goto(f"/m/{market.slug}/clients/soldes/")

    page.get_by_role("button", name="Exporter en PDF").click()

    bar = page.get_by_role("progressbar", name="Préparation du fichier")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("aria-valuenow", "0")
    expect(page.get_by_text("Le fichier attend son tour…")).to_be_visible()
    expect(page.get_by_role("link", name="Télécharger")).to_have_count(0)
    Export.objects.update(status="running", progress=40)  # as the job writes it
    expect(bar).to_have_attribute("aria-valuenow", "40")
    expect(bar).to_have_text("40\u00a0%")
    expect(page.get_by_text("Préparation du fichier…")).to_be_visible()

    run_jobs()  # the worker's round, in this thread: the page learns it by polling

    download_link = page.get_by_role("link", name="Télécharger")
    expect(download_link).to_be_visible()
    expect(bar).to_have_count(0)
    with page.expect_download() as download:
        download_link.click()
    assert download.value.suggested_filename.startswith("soldes-clients-montreuil-")
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert Export.objects.get().requested_by == treasurer.user


def test_the_progress_page_fits_a_phone(page, log_in, market, treasurer):
    log_in(treasurer)
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"/m/{market.slug}/clients/soldes/")
    page.get_by_role("button", name="Exporter en PDF").click()

    expect(page.get_by_role("progressbar", name="Préparation du fichier")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    run_jobs()
    expect(page.get_by_role("link", name="Télécharger")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
