"""A client's history reads a few small queries, whatever its rows refer to."""

import re
import uuid
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.services import basket_read, order_checkout
from payments.services import opening_balance_record, payment_record, transaction_correct
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory

# Joins in one query: the history once joined a dozen tables, which PostgreSQL
# took longer to plan than to run.
MOST_JOINS = 4


def _history(browser, member):
    url = reverse("client_history", args=[member.market.slug, member.pk])
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(url)
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in queries.captured_queries]


def _order(member):
    farm = ProducerFactory(market=member.market, name="Rucher de la Vallée")
    honey = ProductFactory(producer=farm, name="Miel", unit="piece", unit_price=Decimal("12.50"))
    return order_checkout(
        membership=member,
        distribution=DistributionFactory(market=member.market),
        lines=basket_read(member.market, {honey.pk: "2"}),
        choice="cheque",
        token=uuid.uuid4().hex,
        notify=False,
    )


def _rows_of_every_kind(member, by):
    order = _order(member)
    cheque = payment_record(
        membership=member,
        method="cheque",
        amount=Decimal("25.00"),
        cheque_number="0004567",
        recorded_by=by,
    )
    cash = payment_record(membership=member, method="cash", amount=Decimal("5.00"), recorded_by=by)
    transaction_correct(txn=cash.transaction, reason="Saisi deux fois", corrected_by=by)
    return order, cheque


def test_the_history_reads_as_many_queries_with_rows_of_every_kind(login, treasurer, member):
    opening_balance_record(
        membership=member, amount=Decimal("-5.00"), label="Reprise", recorded_by=treasurer.user
    )
    browser = login(treasurer)
    _page, plain = _history(browser, member)
    order, cheque = _rows_of_every_kind(member, treasurer.user)

    page, varied = _history(browser, member)

    assert len(re.findall(r'<tr id="op-\d+"', page)) == 5
    assert f"Commande panier n° {order.number}" in page
    assert "Chèque n° 0004567" in page
    assert re.search(r"Annulation\s:\sEspèces", page) and "Annulée le" in page
    # One more query per kind of thing the rows refer to, not one per row.
    assert len(varied) <= len(plain) + 4


def test_no_query_of_the_history_joins_many_tables(login, treasurer, member):
    _rows_of_every_kind(member, treasurer.user)

    _page, queries = _history(login(treasurer), member)

    joins = {sql.count(" JOIN ") for sql in queries}
    assert max(joins) <= MOST_JOINS


def test_the_history_reads_its_page_and_length_in_one_query(login, treasurer, member):
    _rows_of_every_kind(member, treasurer.user)
    browser = login(treasurer)
    _history(browser, member)  # the first visit of the market also records it

    _page, queries = _history(browser, member)

    counts = [sql for sql in queries if "COUNT(" in sql.upper()]
    assert len(counts) == 1 and " OVER " in counts[0].upper()
    # The session, the person, their memberships, the client with their account,
    # the page, what its rows refer to (payments, baskets, cancelled operations),
    # the payments still expected.
    assert len(queries) <= 9


def test_the_client_account_is_read_with_the_client(login, treasurer, member):
    _page, queries = _history(login(treasurer), member)

    assert not [sql for sql in queries if sql.startswith('SELECT "payments_account"')]
