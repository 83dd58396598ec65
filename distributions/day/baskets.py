"""Reading the day: every basket of a distribution with what is paid and still due
(read by `orders.money`), the page's filters, search and totals.
"""

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
)

from accounts.models import Membership
from cagette.ids import id_from
from orders.models import Order
from orders.money import money_totals, money_totals_read, with_money, with_money_totals

from ..models import Distribution


def day_baskets(distribution: Distribution | int) -> QuerySet[Order]:
    """The baskets of a distribution with, on each, in one query, the money as
    `orders.money.with_money` reads it (``received``, ``pending``, ``paid``,
    ``due``...) and ``is_new``: the client's first order in this market (no lower number).
    ``distribution`` may be given by its id.
    """
    # A membership is of one market: its earlier orders are this market's. Matched
    # on the membership alone, they are read by its index, a few rows per basket,
    # not by the market's numbers, every earlier basket of the day for each one.
    earlier = Order.objects.filter(membership=OuterRef("membership"), number__lt=OuterRef("number"))
    return with_money(
        Order.objects.filter(distribution=distribution)
        .select_related("membership__user", "membership__account", "validated_by")
        .annotate(is_new=~Exists(earlier))
    )


# The distribution page's filters, on `day_baskets` rows.
DAY_FILTERS = {
    "a-valider": Q(validated_at__isnull=True),
    "impayes": Q(due__gt=0),
    "nouveaux": Q(is_new=True),
}


def day_baskets_search(baskets: QuerySet[Order], text: str) -> QuerySet[Order]:
    """By the client's name or email, or by basket number."""
    text = (text or "").strip()
    number = id_from(text)
    if number is not None:
        return baskets.filter(number=number)
    members = Membership.objects.search(text)
    return baskets.filter(membership__in=members.values("pk")) if text else baskets


def _day_counts() -> dict:
    return {
        "validated": Count("pk", filter=Q(validated_at__isnull=False)),
        **{slug: Count("pk", filter=condition) for slug, condition in DAY_FILTERS.items()},
    }


def day_totals(baskets: QuerySet[Order]) -> dict:
    """The page's totals and the count behind each filter, in one query."""
    return money_totals(baskets, **_day_counts())


def with_day_totals(baskets: QuerySet[Order]) -> QuerySet[Order]:
    """``baskets`` each carrying `day_totals` of them all (`day_totals_read`)."""
    return with_money_totals(baskets, **_day_counts())


def day_totals_read(rows: list[Order]) -> dict:
    """`day_totals` of ``rows``, every row of a `with_day_totals` query."""
    return money_totals_read(rows, **_day_counts())
