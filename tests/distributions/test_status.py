"""A distribution's status changes in a service that records who and when, never on a GET."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from distributions.models import Distribution, DistributionStatus
from distributions.status import distribution_status_change
from orders.services import basket_read, order_checkout
from tests.factories import MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def distribution(market):
    return DistributionFactory(market=market)


def _validated_basket(distribution, admin):
    """One basket paid from the balance, validated while orders are still open."""
    distribution.market.payment_methods = ["cash", "cagnotte"]
    distribution.market.save()
    farm = ProducerFactory(market=distribution.market)
    product = ProductFactory(producer=farm, unit_price=Decimal("2.00"))
    member = MembershipFactory(market=distribution.market)
    order = order_checkout(
        membership=member,
        distribution=distribution,
        lines=basket_read(distribution.market, {product.pk: "1"}),
        choice="cagnotte",
        token=f"t-{member.pk}",
        notify=False,
    )
    order.validated_at, order.validated_by = distribution.orders_open_at, admin.user
    order.save(update_fields=["validated_at", "validated_by"])
    return order


def _closed_by_the_clock(distribution):
    span = distribution.orders_close_at - distribution.orders_open_at
    distribution.orders_close_at = distribution.orders_open_at + span / 100
    distribution.save()


def test_closing_orders_records_who_closed_them_and_when(login, market, admin, distribution):
    login(admin).post(reverse("distribution_close", args=[market.slug, distribution.pk]))

    distribution.refresh_from_db()
    assert distribution.status_changed_by == admin.user
    assert distribution.status_changed_at is not None


def test_reopening_orders_records_who_reopened_them(login, market, admin, distribution):
    Distribution.objects.filter(pk=distribution.pk).update(status=DistributionStatus.CLOSED)
    login(admin).post(reverse("distribution_reopen", args=[market.slug, distribution.pk]))

    distribution.refresh_from_db()
    assert distribution.status == DistributionStatus.OPEN
    assert distribution.status_changed_by == admin.user


def test_closing_orders_with_every_basket_validated_validates_in_the_same_transaction(
    admin, distribution
):
    _validated_basket(distribution, admin)
    with transaction.atomic():
        changed = distribution_status_change(
            distribution=distribution,
            from_status=DistributionStatus.OPEN,
            to_status=DistributionStatus.CLOSED,
            changed_by=admin.user,
        )
        distribution.refresh_from_db()
        assert changed and distribution.status == DistributionStatus.VALIDATED
        assert distribution.status_changed_by == admin.user


def test_a_status_changed_meanwhile_is_not_changed_again(admin, distribution):
    Distribution.objects.filter(pk=distribution.pk).update(status=DistributionStatus.CLOSED)

    changed = distribution_status_change(
        distribution=distribution,
        from_status=DistributionStatus.OPEN,
        to_status=DistributionStatus.CLOSED,
        changed_by=admin.user,
    )

    assert not changed
    assert Distribution.objects.get(pk=distribution.pk).status_changed_by is None


def test_opening_the_page_of_a_distribution_closed_by_the_clock_writes_nothing(
    login, market, admin, distribution
):
    _validated_basket(distribution, admin)
    _closed_by_the_clock(distribution)

    page = login(admin).get(reverse("day_distribution", args=[market.slug, distribution.pk]))

    assert page.context["distribution"].state == "validated"
    assert Distribution.objects.get(pk=distribution.pk).status == DistributionStatus.OPEN
