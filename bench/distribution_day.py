"""Benchmark a distribution day: its pages and the bulk validation at 50 and 500 baskets.

    .venv/bin/python bench/distribution_day.py [--large] [--runs 9] [--warmups 2]

In ``cagette_bench_day`` (see `bench/_common.py`), each run builds a new
market per size with a distribution of N baskets of 20,80 €, each with its
expected payment (cash, a numbered cheque or the card terminal, in turn), as
the bulk validation test does. Through the Django test client, logged in as
the market's admin, it measures the median time and query count of the
distribution validation list, a basket page and « Encaissements », then
submits the bulk validation once (« valider les paniers payés comme
déclaré », as the confirmation page sends it) and times it. ``--large`` adds
a day of 2 000 baskets. ``check_ledger`` runs on each market built (non-zero on drift).
Last line: ``list_ratio=<list time, 500 / 50> bulk_statements_per_basket=<at 500>``.
"""

import argparse
import collections
import datetime
import gc
import sys
import time
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import clients_create, django_setup, ledger_check, median_ms, staff_create, timed  # noqa: E402

django_setup("day")

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Market, Role  # noqa: E402
from distributions.day import bulk_views  # noqa: E402
from distributions.models import Distribution, DistributionStatus  # noqa: E402
from orders.models import Order, order_reference  # noqa: E402
from payments.ledger import sales_account  # noqa: E402
from payments.models import Payment, PaymentStatus  # noqa: E402

AMOUNT = Decimal("20.80")
METHODS = ["cash", "cheque", "card_terminal"]
# Each basket's order posted as the checkout posts it: client debited, sales credited.
POST_ORDERS = """
WITH txn AS (
    INSERT INTO payments_transaction
        (market_id, kind, label, date, created_at, created_by_id, reason, order_id)
    SELECT o.market_id, 'order', 'Commande ' || o.reference, %(date)s, now(), %(admin)s, '', o.id
    FROM orders_order o WHERE o.distribution_id = %(distribution)s
    RETURNING id, order_id
), entries AS (
    INSERT INTO payments_entry (transaction_id, account_id, amount)
    SELECT txn.id, a.id, o.total FROM txn
    JOIN orders_order o ON o.id = txn.order_id
    JOIN payments_account a ON a.membership_id = o.membership_id
    UNION ALL
    SELECT txn.id, %(sales)s, -o.total FROM txn JOIN orders_order o ON o.id = txn.order_id
    RETURNING account_id, amount
), sums AS (SELECT account_id, sum(amount) AS total FROM entries GROUP BY account_id)
UPDATE payments_account a SET balance = a.balance + sums.total
FROM sums WHERE a.id = sums.account_id
"""
PLAIN_STATIC = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


class FormFields(HTMLParser):
    """The fields a browser would send from each POST form of a page."""

    def __init__(self):
        super().__init__()
        self.forms: list[list[tuple[str, str]]] = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method") == "post":
            self._current = []
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attrs.get("name"):
            self._current.append((attrs["name"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def bulk_form(page: str) -> dict[str, list[str]]:
    parser = FormFields()
    parser.feed(page)
    (fields,) = [form for form in parser.forms if any(name == "order" for name, _v in form)]
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data


def day_build(count: int) -> tuple[Distribution, object]:
    """A new market with one distribution of ``count`` baskets; returns it and its admin."""
    slug = f"bench-day-{count}-{time.time_ns() // 1000}"
    with transaction.atomic():
        market = Market.objects.create(slug=slug, name=f"Bench · {count} paniers")
        market.payment_methods = METHODS
        market.save()
        admin = staff_create(market, f"admin@{slug}.bench.invalid", Role.ADMIN)
        now = timezone.now()
        distribution = Distribution.objects.create(
            market=market,
            date=timezone.localdate(),
            place="Salle des fêtes",
            starts_at=datetime.time(18, 0),
            ends_at=datetime.time(20, 0),
            orders_open_at=now - datetime.timedelta(days=3),
            orders_close_at=now - datetime.timedelta(hours=2),
            status=DistributionStatus.OPEN,
        )
        members = clients_create(market, count, slug)
        orders = Order.objects.bulk_create(
            Order(
                market=market,
                distribution=distribution,
                membership=member,
                number=n + 1,
                reference=order_reference(distribution.date, n + 1),
                total=AMOUNT,
                payment_method=METHODS[n % len(METHODS)],
            )
            for n, member in enumerate(members)
        )
        Payment.objects.bulk_create(
            Payment(
                market=market,
                membership=order.membership,
                method=order.payment_method,
                amount=AMOUNT,
                status=PaymentStatus.PENDING,
                reference=order.reference,
                cheque_number=f"{n:07d}" if order.payment_method == "cheque" else "",
                order=order,
                distribution=distribution,
            )
            for n, order in enumerate(orders)
        )
        params = {
            "date": distribution.date,
            "admin": admin.pk,
            "distribution": distribution.pk,
            "sales": sales_account(market).pk,
        }
        with connection.cursor() as cursor:
            cursor.execute(POST_ORDERS, params)
    return distribution, admin


def _get(client: Client, url: str) -> float:
    elapsed, response = timed(lambda: client.get(url))
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def pages_measure(client, urls: dict[str, str], runs: int, warmups: int) -> dict:
    """Per page: (median ms, query count); pages take turns, the collector stays out."""
    for _ in range(warmups):
        for url in urls.values():
            _get(client, url)
    timings = {name: [] for name in urls}
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            for name, url in urls.items():
                timings[name].append(_get(client, url))
    finally:
        gc.enable()
    results = {}
    for name, url in urls.items():
        with CaptureQueriesContext(connection) as queries:
            _get(client, url)
        results[name] = (median_ms(timings[name]), len(queries))
    return results


def bulk_measure(client, distribution: Distribution, count: int) -> tuple[float, int]:
    url = reverse("day_bulk", args=[distribution.market.slug, distribution.pk])
    data = bulk_form(client.get(url).content.decode())
    connection.queries_log = collections.deque(maxlen=10**7)  # Django keeps 9 000 otherwise
    with CaptureQueriesContext(connection) as queries:
        elapsed, response = timed(lambda: client.post(url, data))
    assert response.status_code == 302, response.status_code
    waiting = Order.objects.filter(distribution=distribution, validated_at=None).count()
    assert waiting == 0, f"{waiting} baskets left unvalidated"
    return elapsed * 1000, len(queries)


def day_measure(count: int, runs: int, warmups: int) -> dict:
    started = time.perf_counter()
    distribution, admin = day_build(count)
    print(f"{count} baskets: built in {time.perf_counter() - started:.1f} s", flush=True)
    client = Client(raise_request_exception=True)
    client.force_login(admin)
    slug, pk = distribution.market.slug, distribution.pk
    basket = Order.objects.filter(distribution=distribution).order_by("number")[count // 2]
    urls = {
        "list": reverse("day_distribution", args=[slug, pk]),
        "basket": reverse("day_basket", args=[slug, pk, basket.pk]),
        "encaissements": reverse("cash_summary", args=[slug, pk]),
    }
    results = pages_measure(client, urls, runs, warmups)
    results["bulk"] = bulk_measure(client, distribution, count)
    ledger_check(slug)
    for name, (ms, queries) in results.items():
        # The bulk validation runs once per day: it validates every basket.
        how, per = (
            ("once  ", f"  ({queries / count:.1f} per basket)")
            if name == "bulk"
            else ("median", "")
        )
        print(f"{count:>5} baskets  {name:<14} {how} {ms:9.2f} ms  {queries:>6} queries{per}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", action="store_true", help="a 2 000-basket day as well")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--warmups", type=int, default=2)
    args = parser.parse_args()
    bulk_views.BULK_SECONDS = 3600  # the whole day in one submission, however slow the machine
    sizes = [50, 500] + ([2000] if args.large else [])
    with override_settings(STORAGES=PLAIN_STATIC):
        results = {size: day_measure(size, args.runs, args.warmups) for size in sizes}
    list_ratio = results[500]["list"][0] / results[50]["list"][0]
    per_basket = results[500]["bulk"][1] / 500
    print(f"list_ratio={list_ratio:.2f} bulk_statements_per_basket={per_basket:.1f}")


if __name__ == "__main__":
    main()
