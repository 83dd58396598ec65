"""A date typed in any form stays inside 2000 → ten years ahead; the database keeps year 1 out."""

import datetime
import html
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from cagette.dates import latest_date
from distributions.models import Distribution
from payments.models import Payment, Transaction
from tests.factories_catalog import DistributionFactory

DAY = datetime.timedelta(days=1)
TOKEN = "b" * 32
TOO_EARLY = "La date ne peut pas être antérieure au 1er janvier 2000."
TOO_LATE = "La date ne peut pas être postérieure au"
IN_FUTURE = "La date ne peut pas être dans le futur."


def _too_far() -> str:
    return f"{latest_date() + DAY:%Y-%m-%d}"


BAD_DAYS = [
    ("0001-01-01", TOO_EARLY),
    ("1999-12-31", TOO_EARLY),
    ("9999-12-31", TOO_LATE),
    (None, TOO_LATE),  # the day after the last one accepted
]


def _text(response) -> str:
    return html.unescape(response.content.decode()).replace("\xa0", " ")


def _distribution_data(**overrides):
    day = timezone.localdate() + 10 * DAY
    data = {
        "date": f"{day:%Y-%m-%d}",
        "place": "Préau",
        "starts_at": "18:00",
        "ends_at": "20:00",
        "orders_open_at": f"{day - 7 * DAY:%Y-%m-%d}T08:00",
        "orders_close_at": f"{day - 2 * DAY:%Y-%m-%d}T20:00",
    }
    data.update(overrides)
    return data


def _typed(day: str | None, field: str) -> str:
    day = day or _too_far()
    return day if field == "date" else f"{day}T08:00"


@pytest.mark.parametrize(("day", "message"), BAD_DAYS)
@pytest.mark.parametrize("field", ["date", "orders_open_at", "orders_close_at"])
def test_a_distribution_dated_outside_the_window_is_refused(
    login, market, admin, field, day, message
):
    url = reverse("distribution_create", args=[market.slug])

    response = login(admin).post(url, _distribution_data(**{field: _typed(day, field)}))

    assert response.status_code == 400
    assert message in _text(response)
    assert not Distribution.objects.exists()


@pytest.mark.parametrize(("day", "message"), BAD_DAYS)
@pytest.mark.parametrize("field", ["date", "orders_open_at"])
def test_a_distribution_cannot_be_moved_outside_the_window(
    login, market, admin, field, day, message
):
    distribution = DistributionFactory(market=market)
    before = Distribution.objects.values().get()
    url = reverse("distribution_edit", args=[market.slug, distribution.pk])

    response = login(admin).post(url, _distribution_data(**{field: _typed(day, field)}))

    assert response.status_code == 400
    assert message in _text(response)
    assert Distribution.objects.values().get() == before


def _client_url(name, member):
    return reverse(name, args=[member.market.slug, member.pk])


BAD_PAST_DAYS = [*BAD_DAYS[:2], ("9999-12-31", IN_FUTURE), (None, IN_FUTURE)]


@pytest.mark.parametrize(("day", "message"), BAD_PAST_DAYS)
def test_an_opening_balance_dated_outside_the_window_is_refused(login, admin, member, day, message):
    data = {
        "opening-amount": "-32,40",
        "opening-label": "Reprise de solde",
        "opening-date": day or _too_far(),
        "opening-form_token": TOKEN,
    }

    response = login(admin).post(_client_url("opening_balance_create", member), data)

    assert response.status_code == 400
    assert _text(response).count(message) == 1
    assert not Transaction.objects.exists()


@pytest.mark.parametrize(("day", "message"), BAD_PAST_DAYS)
def test_a_payment_dated_outside_the_window_is_refused(login, treasurer, member, day, message):
    data = {
        "payment-method": "cash",
        "payment-amount": "45,50",
        "payment-paid_on": day or _too_far(),
        "payment-form_token": TOKEN,
    }

    response = login(treasurer).post(_client_url("payment_create", member), data)

    assert response.status_code == 400
    assert _text(response).count(message) == 1
    assert not Payment.objects.exists()


def test_the_last_day_ten_years_ahead_is_still_a_distribution_day(login, market, admin):
    last = latest_date()
    data = _distribution_data(
        date=f"{last:%Y-%m-%d}", orders_close_at=f"{last - DAY:%Y-%m-%d}T20:00"
    )

    response = login(admin).post(reverse("distribution_create", args=[market.slug]), data)

    assert response.status_code == 302
    assert Distribution.objects.get().date == last


def test_a_29th_of_february_gives_the_28th_ten_years_on():
    assert latest_date(datetime.date(2028, 2, 29)) == datetime.date(2038, 2, 28)


@pytest.mark.parametrize("day", ["01/01/0001", "31/12/9999"])
def test_the_django_admin_refuses_a_membership_joined_outside_the_window(client, member, day):
    client.force_login(User.objects.create_superuser("chef@cagette.local", "Radis-2026-poireaux"))
    url = reverse("admin:accounts_membership_change", args=[member.pk])

    response = client.post(url, {"role": member.role, "joined_at": day})

    assert response.status_code == 200
    assert "La date doit se situer entre l'an 2000 et l'an 2099." in _text(response)
    assert Membership.objects.get(pk=member.pk).joined_at == member.joined_at


# -- The database ---------------------------------------------------------------------


def _refused_by_the_database(sql, params, constraint):
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert constraint in str(refused.value)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("date", "0001-01-01"),
        ("date", "9999-12-31"),
        ("orders_open_at", "0001-01-01 00:00+01"),
        ("orders_close_at", "9999-12-31 23:59+01"),
    ],
)
def test_the_database_refuses_a_distribution_of_year_1_or_9999(market, column, value):
    row = {
        "date": "2026-12-04",
        "orders_open_at": "2026-11-27 08:00+01",
        "orders_close_at": "2026-12-02 20:00+01",
    }
    row[column] = value

    _refused_by_the_database(
        "INSERT INTO distributions_distribution"
        " (market_id, date, place, orders_open_at, orders_close_at, status)"
        " VALUES (%s, %s, 'Préau', %s, %s, 'open')",
        [market.pk, row["date"], row["orders_open_at"], row["orders_close_at"]],
        f"distribution_{column}_in_window",
    )


@pytest.mark.postgres
def test_the_database_refuses_a_ledger_transaction_of_year_1(market):
    _refused_by_the_database(
        "INSERT INTO payments_transaction (market_id, kind, label, date, created_at, reason)"
        " VALUES (%s, 'order', 'x', '0001-01-01', NOW(), '')",
        [market.pk],
        "transaction_date_in_window",
    )


@pytest.mark.postgres
def test_the_database_refuses_a_payment_of_year_1(member):
    _refused_by_the_database(
        "INSERT INTO payments_payment"
        " (market_id, membership_id, method, amount, status, reference, cheque_number, bank,"
        "  paid_on, created_at)"
        " VALUES (%s, %s, 'cash', 10, 'pending', '', '', '', '0001-01-01', NOW())",
        [member.market.pk, member.pk],
        "payment_paid_on_in_window",
    )


@pytest.mark.postgres
def test_the_migration_brings_a_distribution_of_year_1_back_to_a_readable_date(market):
    migration = importlib.import_module("distributions.migrations.0003_dates_in_window")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE needs no pending checks
        for name in ["orders_open_at", "orders_close_at", "date"]:
            cursor.execute(
                "ALTER TABLE distributions_distribution"
                f" DROP CONSTRAINT distribution_{name}_in_window"
            )
        cursor.execute(
            "INSERT INTO distributions_distribution"
            " (market_id, date, place, orders_open_at, orders_close_at, status)"
            " VALUES (%s, '9999-12-31', 'Préau', '0001-01-01 00:00+01', '0001-01-02 00:00+01',"
            " 'open')",
            [market.pk],
        )

    migration.repair_dates(apps, SimpleNamespace(connection=connection))

    distribution = Distribution.objects.get()  # read back: no « timestamp too small »
    assert distribution.date == datetime.date(2099, 12, 31)
    assert distribution.orders_open_at.year == 2000
    assert distribution.orders_close_at > distribution.orders_open_at
