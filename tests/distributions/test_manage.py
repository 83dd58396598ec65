"""« Gestion »: the market admin plans distributions and opens and closes their orders."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from distributions.models import Distribution, DistributionStatus
from orders.models import Order
from orders.services import basket_read, order_checkout
from tests.factories import MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

DAY = datetime.timedelta(days=1)


def _url(name, market, **kwargs):
    return reverse(name, kwargs={"market_slug": market.slug, **kwargs})


def _messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def _local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def day():
    """The day of the distribution being planned: in ten days."""
    return timezone.localdate() + 10 * DAY


def _data(day, **overrides):
    data = {
        "date": f"{day:%Y-%m-%d}",
        "place": "Préau de l'école Jules-Ferry",
        "starts_at": "18:00",
        "ends_at": "20:00",
        "orders_open_at": f"{day - 7 * DAY:%Y-%m-%d}T08:00",
        "orders_close_at": f"{day - 2 * DAY:%Y-%m-%d}T20:00",
    }
    data.update(overrides)
    return data


@pytest.fixture
def distribution(market):
    return DistributionFactory(market=market)


# Creating and editing


def test_an_admin_plans_a_distribution(login, market, admin, day):
    response = login(admin).post(_url("distribution_create", market), _data(day))
    assert response.status_code == 302
    assert response.url == _url("distribution_list", market)
    distribution = Distribution.objects.get()
    assert (distribution.market, distribution.date, distribution.status) == (
        market,
        day,
        DistributionStatus.OPEN,
    )
    assert (distribution.starts_at, distribution.ends_at) == (
        datetime.time(18, 0),
        datetime.time(20, 0),
    )
    assert distribution.orders_open_at == _local(day - 7 * DAY, 8)
    assert distribution.orders_close_at == _local(day - 2 * DAY, 20)
    assert _messages(response) == [f"Distribution « {distribution} » créée."]


def test_french_dates_and_times_are_accepted(login, market, admin, day):
    data = _data(
        day,
        date=f"{day:%d/%m/%Y}",
        orders_open_at=f"{day - 7 * DAY:%d/%m/%Y} 08:30",
        orders_close_at=f"{day:%d/%m/%Y} 12:00",
    )
    assert login(admin).post(_url("distribution_create", market), data).status_code == 302
    distribution = Distribution.objects.get()
    assert distribution.orders_open_at == _local(day - 7 * DAY, 8, 30)
    assert distribution.orders_close_at == _local(day, 12)


def test_the_distribution_times_are_optional(login, market, admin, day):
    data = _data(day, starts_at="", ends_at="")
    assert login(admin).post(_url("distribution_create", market), data).status_code == 302
    distribution = Distribution.objects.get()
    assert (distribution.starts_at, distribution.ends_at) == (None, None)


def test_an_admin_moves_a_distribution_to_another_place(login, market, admin, distribution):
    data = _data(distribution.date, place="Salle polyvalente")
    response = login(admin).post(_url("distribution_edit", market, pk=distribution.pk), data)
    assert response.status_code == 302
    distribution.refresh_from_db()
    assert distribution.place == "Salle polyvalente"
    assert distribution.status == DistributionStatus.OPEN


def test_moving_a_distribution_keeps_the_references_of_its_orders(
    login, market, admin, member, distribution, day
):
    market.payment_methods = ["transfer"]
    market.save()
    product = ProductFactory(producer=ProducerFactory(market=market))
    order = order_checkout(
        membership=member,
        distribution=distribution,
        lines=basket_read(market, {str(product.pk): "1"}),
        choice="transfer",
        token="a" * 32,
    )
    given = order.reference

    response = login(admin).post(_url("distribution_edit", market, pk=distribution.pk), _data(day))

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.distribution.date == day
    assert order.reference == given == f"{distribution.date:%Y-%m-%d}-{order.number:04d}"
    assert order.payments.get().reference == given
    warning = " ".join(str(m) for m in response.wsgi_request._messages)
    assert "1 client a déjà commandé pour cette distribution : prévenez-le" in warning


def test_the_edit_form_shows_the_current_window_in_local_time(login, market, admin, day):
    distribution = DistributionFactory(
        market=market,
        date=day,
        orders_open_at=_local(day - 7 * DAY, 8),
        orders_close_at=_local(day - 2 * DAY, 20),
    )
    response = login(admin).get(_url("distribution_edit", market, pk=distribution.pk))
    assert f'value="{day - 2 * DAY:%Y-%m-%d}T20:00"' in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"orders_close_at": "OPEN"},
            "orders_close_at",
            "La fermeture des commandes doit être après leur ouverture.",
        ),
        (
            {"orders_close_at": "BEFORE_OPEN"},
            "orders_close_at",
            "La fermeture des commandes doit être après leur ouverture.",
        ),
        (
            {"orders_close_at": "DAY_AFTER"},
            "orders_close_at",
            "Les commandes doivent fermer au plus tard à la fin du jour de la distribution",
        ),
        ({"ends_at": "17:00"}, "ends_at", "La fin de la distribution doit être après son début."),
        ({"date": "YESTERDAY"}, "date", "La date de la distribution est déjà passée."),
        (
            {"orders_open_at": "demain"},
            "orders_open_at",
            "Saisissez une date et une heure valides.",
        ),
        ({"place": ""}, "place", "Ce champ est obligatoire."),
    ],
)
def test_a_wrong_distribution_is_refused_in_french_and_nothing_is_saved(
    login, market, admin, day, overrides, field, message
):
    data = _data(day)
    replacements = {
        "OPEN": data["orders_open_at"],
        "BEFORE_OPEN": f"{day - 8 * DAY:%Y-%m-%d}T08:00",
        "DAY_AFTER": f"{day + DAY:%Y-%m-%d}T00:01",
        "YESTERDAY": f"{timezone.localdate() - DAY:%Y-%m-%d}",
    }
    data.update({key: replacements.get(value, value) for key, value in overrides.items()})
    response = login(admin).post(_url("distribution_create", market), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert errors[field][0].startswith(message)
    assert not Distribution.objects.exists()


def test_orders_may_close_at_midnight_at_the_end_of_the_distribution_day(login, market, admin, day):
    data = _data(day, orders_close_at=f"{day + DAY:%Y-%m-%d}T00:00")
    assert login(admin).post(_url("distribution_create", market), data).status_code == 302


def test_a_past_distribution_keeps_its_date_when_its_place_is_corrected(login, market, admin):
    past = timezone.localdate() - 3 * DAY
    distribution = DistributionFactory(
        market=market,
        date=past,
        orders_open_at=_local(past - 7 * DAY, 8),
        orders_close_at=_local(past - 1 * DAY, 20),
        status=DistributionStatus.CLOSED,
    )
    data = _data(past, place="Salle polyvalente")
    response = login(admin).post(_url("distribution_edit", market, pk=distribution.pk), data)
    assert response.status_code == 302
    distribution.refresh_from_db()
    assert distribution.place == "Salle polyvalente"


def test_a_validated_distribution_cannot_be_edited(login, market, admin, distribution, day):
    Distribution.objects.filter(pk=distribution.pk).update(status=DistributionStatus.VALIDATED)
    url = _url("distribution_edit", market, pk=distribution.pk)
    browser = login(admin)
    response = browser.get(url)
    assert response.status_code == 302
    assert _messages(response) == [
        "Cette distribution est validée : elle ne peut plus être modifiée."
    ]
    response = browser.post(url, _data(day, place="Ailleurs"))
    assert response.status_code == 302
    distribution.refresh_from_db()
    assert (distribution.place, distribution.status) == (
        "Salle des fêtes",
        DistributionStatus.VALIDATED,
    )


# Closing and reopening orders


def test_an_admin_closes_orders_now(login, market, admin, distribution):
    response = login(admin).post(_url("distribution_close", market, pk=distribution.pk))
    assert response.status_code == 302
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.CLOSED
    assert not distribution.is_open_for_orders()
    assert _messages(response) == [f"Commandes closes pour la distribution « {distribution} »."]


def test_closing_orders_already_closed_changes_nothing(login, market, admin, distribution):
    Distribution.objects.filter(pk=distribution.pk).update(status=DistributionStatus.CLOSED)
    response = login(admin).post(_url("distribution_close", market, pk=distribution.pk))
    assert _messages(response) == ["Les commandes de cette distribution ne sont pas ouvertes."]
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.CLOSED


def test_an_admin_reopens_orders(login, market, admin, distribution):
    Distribution.objects.filter(pk=distribution.pk).update(status=DistributionStatus.CLOSED)
    response = login(admin).post(_url("distribution_reopen", market, pk=distribution.pk))
    assert response.status_code == 302
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.OPEN
    assert distribution.is_open_for_orders()
    assert _messages(response) == [f"Commandes rouvertes pour la distribution « {distribution} »."]


def test_reopening_past_the_closing_time_warns_that_clients_still_cannot_order(
    login, market, admin
):
    distribution = DistributionFactory(
        market=market,
        orders_open_at=timezone.now() - 3 * DAY,
        orders_close_at=timezone.now() - DAY,
        status=DistributionStatus.CLOSED,
    )
    response = login(admin).post(_url("distribution_reopen", market, pk=distribution.pk))
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.OPEN
    assert "La date de fermeture des commandes est passée" in _messages(response)[1]


def test_a_past_distribution_cannot_be_reopened(login, market, admin):
    past = timezone.localdate() - DAY
    distribution = DistributionFactory(
        market=market,
        date=past,
        orders_open_at=_local(past - 7 * DAY, 8),
        orders_close_at=_local(past - 2 * DAY, 20),
        status=DistributionStatus.CLOSED,
    )
    response = login(admin).post(_url("distribution_reopen", market, pk=distribution.pk))
    assert _messages(response) == ["Cette distribution est passée : ses commandes restent closes."]
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.CLOSED


def test_a_distribution_held_today_can_still_be_reopened(login, market, admin):
    today = timezone.localdate()
    distribution = DistributionFactory(
        market=market,
        date=today,
        orders_open_at=_local(today - 7 * DAY, 8),
        orders_close_at=_local(today - 2 * DAY, 20),
        status=DistributionStatus.CLOSED,
    )
    login(admin).post(_url("distribution_reopen", market, pk=distribution.pk))
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.OPEN


@pytest.mark.parametrize("action", ["distribution_close", "distribution_reopen"])
def test_a_validated_distribution_is_neither_closed_nor_reopened(
    login, market, admin, distribution, action
):
    Distribution.objects.filter(pk=distribution.pk).update(status=DistributionStatus.VALIDATED)
    login(admin).post(_url(action, market, pk=distribution.pk))
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.VALIDATED


@pytest.mark.parametrize("action", ["distribution_close", "distribution_reopen"])
def test_visiting_a_closing_or_reopening_address_changes_nothing_and_leads_to_the_list(
    login, market, admin, distribution, action
):
    response = login(admin).get(_url(action, market, pk=distribution.pk))
    assert response.status_code == 302
    assert response.url == reverse("distribution_list", args=[market.slug])
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.OPEN


# The list


def test_the_list_separates_upcoming_and_past_distributions_with_their_orders(
    login, market, admin, distribution
):
    past = timezone.localdate() - 7 * DAY
    old = DistributionFactory(
        market=market,
        date=past,
        orders_open_at=_local(past - 7 * DAY, 8),
        orders_close_at=_local(past - DAY, 20),
        status=DistributionStatus.VALIDATED,
    )
    for number in (1, 2):
        Order.objects.create(
            market=market,
            distribution=old,
            membership=MembershipFactory(market=market),
            number=number,
            total=Decimal("12.50"),
        )
    response = login(admin).get(_url("distribution_list", market))
    assert [(d.pk, d.order_count) for d in response.context["upcoming"]] == [(distribution.pk, 0)]
    assert [(d.pk, d.order_count) for d in response.context["page"]] == [(old.pk, 2)]


def test_the_list_offers_to_close_open_orders(login, market, admin, distribution):
    content = login(admin).get(_url("distribution_list", market)).content.decode()
    assert _url("distribution_close", market, pk=distribution.pk) in content
    assert "csrfmiddlewaretoken" in content


# Access


@pytest.fixture
def pages(market, distribution):
    return [
        _url("distribution_list", market),
        _url("distribution_create", market),
        _url("distribution_edit", market, pk=distribution.pk),
    ]


@pytest.fixture
def actions(market, distribution):
    return [
        _url("distribution_close", market, pk=distribution.pk),
        _url("distribution_reopen", market, pk=distribution.pk),
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(client, pages, actions):
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url
    for url in actions:
        response = client.post(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


def test_an_admin_opens_every_distribution_page(login, admin, pages):
    browser = login(admin)
    for url in pages:
        assert browser.get(url).status_code == 200, url


def test_a_treasurer_sees_the_list_to_reach_each_distributions_pages_but_changes_nothing(
    login, market, treasurer, distribution
):
    page = login(treasurer).get(_url("distribution_list", market)).content.decode()
    assert reverse("day_distribution", args=[market.slug, distribution.pk]) in page
    assert reverse("cash_summary", args=[market.slug, distribution.pk]) in page
    assert _url("distribution_create", market) not in page
    assert _url("distribution_close", market, pk=distribution.pk) not in page


@pytest.mark.parametrize("role", ["treasurer", "member"])
def test_treasurers_and_clients_are_forbidden(request, login, pages, actions, distribution, role):
    browser = login(request.getfixturevalue(role))
    if role == "treasurer":
        pages = pages[1:]  # the list is open to treasurers (see above)
    for url in pages:
        assert browser.get(url).status_code == 403, url
    for url in actions:
        assert browser.post(url).status_code == 403, url
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.OPEN


def test_an_admin_of_another_market_finds_nothing_here(
    login, pages, actions, distribution, other_admin
):
    browser = login(other_admin)
    for url in pages:
        assert browser.get(url).status_code == 404, url
    for url in actions:
        assert browser.post(url).status_code == 404, url
    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.OPEN


def test_another_markets_distribution_is_not_found_through_this_market(
    login, market, admin, other_market, day
):
    stranger = DistributionFactory(market=other_market)
    browser = login(admin)
    assert browser.get(_url("distribution_edit", market, pk=stranger.pk)).status_code == 404
    edit = browser.post(_url("distribution_edit", market, pk=stranger.pk), _data(day))
    assert edit.status_code == 404
    assert browser.post(_url("distribution_close", market, pk=stranger.pk)).status_code == 404
    stranger.refresh_from_db()
    assert (stranger.status, stranger.place) == (DistributionStatus.OPEN, "Salle des fêtes")


def test_a_distribution_whose_orders_open_later_says_so_to_admins_and_clients(
    login, market, admin, member
):
    import datetime

    from django.utils import timezone

    opens = timezone.now() + datetime.timedelta(days=1)
    later = DistributionFactory(
        market=market, orders_open_at=opens, orders_close_at=opens + datetime.timedelta(days=2)
    )

    assert later.state == "upcoming"
    listing = login(admin).get(reverse("distribution_list", args=[market.slug]))
    assert "Commandes à venir (ouverture le" in listing.content.decode()
    shop = login(member).get(reverse("distribution_shop", args=[market.slug, later.pk]))
    assert "Les commandes ouvriront le" in shop.content.decode()


def test_a_distribution_past_its_closing_time_reads_as_closed(market):
    import datetime

    from django.utils import timezone

    past = DistributionFactory(
        market=market,
        orders_open_at=timezone.now() - datetime.timedelta(days=3),
        orders_close_at=timezone.now() - datetime.timedelta(hours=1),
    )

    assert (past.status, past.state, past.state_label) == ("open", "closed", "Commandes closes")
