"""A distribution's status: orders closed or reopened, validated once every basket is.

Each change is a conditional update in one database transaction that records
who made it and when, so two admins clicking at once change the status once.
Orders also close by the clock, with no write at all: a distribution whose
orders closed that way, every basket validated, reads as validated
(`reads_as_validated`) and is stored so by the next change (closing its
orders, say).

May import `distributions.models` and `orders.models`; nothing of the pages.
"""

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .models import Distribution, DistributionStatus


@transaction.atomic
def distribution_status_change(
    *, distribution: Distribution, from_status: str, to_status: str, changed_by
) -> bool:
    """Move ``distribution`` from ``from_status`` to ``to_status``; ``False`` if its
    status changed meanwhile. Closing the orders validates the distribution
    when every basket is validated already."""
    now = timezone.now()
    changed = Distribution.objects.filter(pk=distribution.pk, status=from_status).update(
        status=to_status, status_changed_at=now, status_changed_by=changed_by
    )
    if not changed:
        return False
    distribution.status = to_status
    distribution.status_changed_at, distribution.status_changed_by = now, changed_by
    if to_status == DistributionStatus.CLOSED:
        distribution_validate_if_done(distribution.pk, validated_by=changed_by)
    return True


@transaction.atomic
def distribution_validate_if_done(distribution_id: int, *, validated_by=None) -> None:
    """Every basket validated: the distribution is validated, once orders are closed.

    While clients may still order, a basket can be validated (it is then locked
    against additions, and its client's pages say so) but the distribution
    stays open for everyone else.
    """
    distribution = Distribution.objects.select_for_update().get(pk=distribution_id)
    if distribution.status == DistributionStatus.VALIDATED or not distribution.orders_closed:
        return
    orders = distribution.orders
    if orders.exists() and not orders.filter(validated_at__isnull=True).exists():
        distribution.status = DistributionStatus.VALIDATED
        distribution.status_changed_at = timezone.now()
        distribution.status_changed_by = validated_by
        distribution.save(update_fields=["status", "status_changed_at", "status_changed_by"])


def reads_as_validated(distribution: Distribution, *, count: int, validated: int) -> bool:
    """Validated, or as good as: orders closed (by the clock too) and all ``count``
    baskets validated, though no write has stored it yet."""
    if distribution.status == DistributionStatus.VALIDATED:
        return True
    return bool(count) and validated == count and distribution.orders_closed


def as_read(distribution: Distribution, *, count: int, validated: int) -> Distribution:
    """``distribution`` with the status a person reads (`reads_as_validated`), in memory
    only: a page that shows it writes nothing."""
    if reads_as_validated(distribution, count=count, validated=validated):
        distribution.status = DistributionStatus.VALIDATED
    return distribution


def distributions_to_validate(market, limit: int = 3) -> QuerySet[Distribution]:
    """Distributions whose orders are in and whose baskets still wait, oldest first."""
    return (
        Distribution.objects.filter(market=market)
        .exclude(status=DistributionStatus.VALIDATED)
        .filter(Q(status=DistributionStatus.CLOSED) | Q(orders_close_at__lte=timezone.now()))
        .annotate(
            basket_count=Count("orders"),
            to_validate=Count("orders", filter=Q(orders__validated_at__isnull=True)),
        )
        .filter(to_validate__gt=0)
        .order_by("date", "pk")[:limit]
    )
