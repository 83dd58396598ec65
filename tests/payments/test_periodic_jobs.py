"""The periodic jobs of the payments app, run in the test: transfers reminded at the
market's chosen time before a distribution, and the nightly audit of the books."""

import datetime
import logging
from decimal import Decimal

import pytest
from django.core import mail
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import Market
from payments.ledger import client_account
from payments.models import LedgerCheckRun, Payment, PaymentMethod, PaymentReminder
from payments.services import payment_receive, payment_record
from payments.tasks import check_ledger, reminder_moment, transfer_reminders_auto
from tests.factories import UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.jobs import run_jobs
from tests.payments.test_transfers import client_named, place_order

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def market(market):
    market.payment_methods = ["transfer", "cheque"]
    market.iban = "FR7630006000011234567890189"
    market.bic = "AGRIFRPP882"
    market.account_holder = "Association Marché de Montreuil"
    market.transfer_reminders_auto = True  # 2 days before, at 9 h: the defaults
    market.save()
    return market


@pytest.fixture
def distribution(market):
    return DistributionFactory(market=market, place="La Halle")


@pytest.fixture
def carrots(market):
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    return ProductFactory(producer=farm, name="Carottes", unit_price=Decimal("2.50"))


@pytest.fixture
def camille(market):
    return client_named(market, "Camille", "Martin", "camille@exemple.fr")


@pytest.fixture
def transfer(camille, distribution, carrots):
    return place_order(camille, distribution, carrots, "5")


def _run_at(moment: datetime.datetime, django_capture_on_commit_callbacks) -> int:
    """The hourly job, due at ``moment``; the emails it decides are sent."""
    with django_capture_on_commit_callbacks(execute=True):
        reminded = transfer_reminders_auto(timestamp=int(moment.timestamp()))
    run_jobs()
    return reminded


def _reminders_to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address]]


# -- Transfers reminded before the distribution ------------------------------------------


def test_the_reminder_moment_is_the_chosen_hour_the_chosen_days_before(market, distribution):
    moment = timezone.localtime(reminder_moment(market, distribution))

    assert moment.date() == distribution.date - datetime.timedelta(days=2)
    assert (moment.hour, moment.minute) == (9, 0)


def test_nothing_is_reminded_before_the_market_s_chosen_time(
    market, distribution, transfer, django_capture_on_commit_callbacks
):
    moment = reminder_moment(market, distribution)

    assert _run_at(moment - HOUR, django_capture_on_commit_callbacks) == 0

    assert not PaymentReminder.objects.exists()
    assert mail.outbox == []


def test_a_transfer_still_expected_is_reminded_once_when_the_time_comes(
    market, distribution, transfer, django_capture_on_commit_callbacks
):
    moment = reminder_moment(market, distribution)

    assert _run_at(moment, django_capture_on_commit_callbacks) == 1
    assert _run_at(moment + HOUR, django_capture_on_commit_callbacks) == 0  # the next hour
    assert _run_at(moment, django_capture_on_commit_callbacks) == 0  # a second worker, say

    reminder = PaymentReminder.objects.get()
    assert (reminder.payment, reminder.token, reminder.sent_by) == (
        transfer,
        f"auto:{distribution.pk}",
        None,
    )
    assert len(_reminders_to("camille@exemple.fr")) == 1


def test_a_late_worker_still_reminds_before_the_distribution(
    market, distribution, transfer, django_capture_on_commit_callbacks
):
    moment = reminder_moment(market, distribution)

    assert _run_at(moment + 30 * HOUR, django_capture_on_commit_callbacks) == 1


def test_transfers_received_or_ordered_after_the_moment_are_not_reminded(
    market, distribution, carrots, transfer, admin, django_capture_on_commit_callbacks
):
    moment = reminder_moment(market, distribution)
    dominique = client_named(market, "Dominique", "Bernard", "dominique@exemple.fr")
    late = place_order(dominique, distribution, carrots, "2")
    Payment.objects.filter(pk=late.pk).update(created_at=moment + HOUR)
    payment_receive(payment=transfer, received_by=admin.user)

    assert _run_at(moment + 2 * HOUR, django_capture_on_commit_callbacks) == 0

    assert not PaymentReminder.objects.exists()


def test_a_market_that_does_not_remind_automatically_reminds_nobody(
    market, distribution, transfer, django_capture_on_commit_callbacks
):
    Market.objects.filter(pk=market.pk).update(transfer_reminders_auto=False)

    assert _run_at(reminder_moment(market, distribution), django_capture_on_commit_callbacks) == 0


def test_a_past_distribution_is_not_reminded(
    market, distribution, transfer, django_capture_on_commit_callbacks
):
    after = timezone.make_aware(
        datetime.datetime.combine(distribution.date + datetime.timedelta(days=1), datetime.time(9))
    )

    assert _run_at(after, django_capture_on_commit_callbacks) == 0


def test_each_market_reminds_at_its_own_time(
    market, distribution, transfer, django_capture_on_commit_callbacks
):
    Market.objects.filter(pk=market.pk).update(
        transfer_reminders_days_before=0, transfer_reminders_hour=7
    )
    market.refresh_from_db()
    morning = timezone.make_aware(datetime.datetime.combine(distribution.date, datetime.time(7)))

    assert _run_at(morning - HOUR, django_capture_on_commit_callbacks) == 0
    assert _run_at(morning, django_capture_on_commit_callbacks) == 1


def test_a_market_without_iban_is_logged_and_reminds_nobody(
    market, distribution, transfer, caplog, django_capture_on_commit_callbacks
):
    Market.objects.filter(pk=market.pk).update(iban="")

    with caplog.at_level(logging.WARNING, logger="payments.tasks"):
        assert (
            _run_at(reminder_moment(market, distribution), django_capture_on_commit_callbacks) == 0
        )

    assert "no IBAN" in caplog.text


# -- The nightly audit of the books ----------------------------------------------------------


@pytest.fixture
def superuser(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def _drift(member) -> None:
    payment_record(
        membership=member, method=PaymentMethod.CASH, amount=Decimal("20.00"), recorded_by=None
    )
    account = client_account(member)
    type(account).objects.filter(pk=account.pk).update(balance=F("balance") + Decimal("0.01"))


def test_the_nightly_check_keeps_a_clean_run(member):
    payment_record(
        membership=member, method=PaymentMethod.CASH, amount=Decimal("20.00"), recorded_by=None
    )
    due = timezone.now().replace(microsecond=0)

    assert check_ledger(timestamp=int(due.timestamp())) == 0

    run = LedgerCheckRun.objects.get()
    assert run.ok and run.problem_count == 0 and run.problems == ""
    assert run.scheduled_for == due and run.finished_at >= run.started_at


def test_the_nightly_check_logs_drift_at_error_and_keeps_it(member, caplog):
    _drift(member)

    with caplog.at_level(logging.ERROR, logger="payments.ledger.check_runs"):
        assert check_ledger(timestamp=int(timezone.now().timestamp())) == 1

    run = LedgerCheckRun.objects.get()
    assert not run.ok and run.problem_count == 1
    assert "balance" in run.problems
    assert any(r.levelno == logging.ERROR and "1 problem" in r.getMessage() for r in caplog.records)


def test_superusers_see_a_red_banner_on_every_page_while_the_latest_check_failed(
    member, superuser, client
):
    _drift(member)
    check_ledger(timestamp=int(timezone.now().timestamp()))
    run = LedgerCheckRun.objects.get()

    page = client.get(reverse("home")).content.decode()

    day = timezone.localtime(run.started_at).strftime("%d/%m/%Y")
    assert f"Contrôle du grand livre du {day}{NBSP}: 1 anomalie" in page
    link = reverse("admin:payments_ledgercheckrun_change", args=[run.pk])
    assert link in page
    assert 'class="alert alert-danger"' in page
    assert "balance" in client.get(link).content.decode()  # the admin shows what drifted


def test_the_banner_goes_once_a_later_check_is_clean(member, superuser, client):
    _drift(member)
    check_ledger(timestamp=int(timezone.now().timestamp()))
    account = client_account(member)
    type(account).objects.filter(pk=account.pk).update(balance=F("balance") - Decimal("0.01"))
    check_ledger(timestamp=int(timezone.now().timestamp()))

    assert "Contrôle du grand livre" not in client.get(reverse("home")).content.decode()


def test_market_admins_who_are_not_superusers_see_no_banner(member, admin, client):
    _drift(member)
    check_ledger(timestamp=int(timezone.now().timestamp()))
    client.force_login(admin.user)

    page = client.get(reverse("market_home", args=[admin.market.slug])).content.decode()

    assert "Contrôle du grand livre" not in page
