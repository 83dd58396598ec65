"""PDF exports with real concurrency: a worker laying out 2 100 clients while the web
answers at once, and clicks at the same instant making one export."""

import io
import time

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse
from pypdf import PdfReader

from accounts.models import Membership, Role, User
from payments.exports.services import export_ask
from payments.models import Account, AccountKind, Export, ExportStatus
from payments.tasks import export_balances
from tests.jobs import queued
from tests.threads import run_together
from tests.workers import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 2100


def _clients_in_bulk(market, count):
    """``count`` clients with their accounts, written in bulk (one by one takes minutes)."""
    password = make_password(None)
    users = User.objects.bulk_create(
        User(
            email=f"client-{i:05d}@exemple.fr",
            first_name="Client",
            last_name=f"Numéro{i:05d}",
            password=password,
        )
        for i in range(count)
    )
    memberships = Membership.objects.bulk_create(
        Membership(user=user, market=market, role=Role.CLIENT) for user in users
    )
    Account.objects.bulk_create(
        Account(market=market, kind=AccountKind.CLIENT, membership=m, name=m.user.display_name)
        for m in memberships
    )


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_a_pdf_of_2100_clients_is_made_by_a_worker_while_the_web_answers_at_once(
    start_worker, login, market, treasurer, settings
):
    _clients_in_bulk(market, CLIENTS)
    browser = login(treasurer)
    browser.get(reverse("balance_list", args=[market.slug]))  # the first request pays start-up
    worker = start_worker(MEDIA_ROOT=str(settings.MEDIA_ROOT))

    asked, asked_in = _timed(lambda: browser.post(reverse("balance_pdf", args=[market.slug])))

    assert asked.status_code == 302 and asked_in < 1
    export = Export.objects.get()
    status_url = reverse("export_status", args=[market.slug, export.pk])
    wait_until(
        lambda: 0 < Export.objects.get(pk=export.pk).progress < 50,
        seconds=120,
        what="the worker reporting its progress\n" + worker.output(),
    )
    page, page_in = _timed(lambda: browser.get(reverse("balance_list", args=[market.slug])))
    assert page.status_code == 200 and page_in < 1  # the web is not the one laying out
    status = browser.get(status_url).json()
    assert status["status"] == "running" and 0 < status["progress"] < 100
    wait_until(
        lambda: Export.objects.get(pk=export.pk).finished,
        seconds=300,
        what="the PDF laid out\n" + worker.output(),
    )

    export.refresh_from_db()
    assert export.status == ExportStatus.DONE, export.error
    response = browser.get(reverse("export_download", args=[market.slug, export.pk]))
    reader = PdfReader(io.BytesIO(b"".join(response.streaming_content)))
    texts = [page.extract_text() for page in reader.pages]
    pages = len(texts)
    assert "Numéro00000 Client" in texts[0] and f"Numéro{CLIENTS - 1:05d} Client" in texts[-1]
    # Every client once, in order, whatever part of the layout the page came from.
    names = [word for text in texts for word in text.split() if word.startswith("Numéro")]
    assert names == [f"Numéro{i:05d}" for i in range(CLIENTS)]
    for number, text in enumerate(texts, start=1):
        assert f"Marché de Montreuil · Solde des clients Page {number} / {pages}" in text


def test_clicks_at_the_same_instant_make_one_export_and_one_job(market, treasurer):
    def ask(_):
        return export_ask(
            market=market,
            user=treasurer.user,
            kind="balances",
            params={"etat": "debiteurs"},
            page_url="",
            task=export_balances,
        ).pk

    asked, errors = run_together(ask, threads=4)

    assert errors == []
    assert len(set(asked)) == 1 and Export.objects.count() == 1
    assert len(queued("export_balances")) == 1
