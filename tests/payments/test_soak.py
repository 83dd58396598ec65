"""A soak test: 16 workers mixing every money flow on one market at once.

Checkouts (paid on site or from the balance), payments recorded by hand,
expected payments confirmed, reversals, and replays of each with the same
idempotency key, all racing on the same rows. No deadlock or serialization
failure may reach a caller (the services run their block again), the books
must audit clean afterwards, and each effect must exist once.
"""

import random
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Membership
from distributions.day.pickup import basket_payment_receive
from distributions.models import Distribution
from orders.models import Order, Unit
from orders.services import CheckoutError, basket_read, order_checkout
from payments.models import Payment, PaymentMethod, PaymentStatus, Transaction
from payments.services import (
    PaymentStateError,
    opening_balance_record,
    payment_receive,
    payment_record,
    transaction_correct,
)
from tests.factories import MarketFactory, MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16
OPERATIONS_PER_THREAD = 20  # 320 in all: a few seconds, not minutes
RECORD_KEYS = 24  # payments recorded by hand draw their key from this pool: replays
# What the market may refuse a person, in French; anything else is a failure.
REFUSALS = (CheckoutError, PaymentStateError)


@pytest.fixture
def soak_market():
    market = MarketFactory(
        slug="soak",
        allow_negative_balances=False,
        payment_methods=["cheque", "cash", "cagnotte"],
    )
    producer = ProducerFactory(market=market)
    products = [
        ProductFactory(
            producer=producer, name=f"Produit {n}", unit=Unit.PIECE, unit_price=Decimal("2.35")
        )
        for n in range(4)
    ]
    clients = [MembershipFactory(market=market) for _ in range(THREADS)]
    for client in clients:
        opening_balance_record(
            membership=client, amount=Decimal("30.00"), label="Reprise", recorded_by=None
        )
    distributions = [DistributionFactory(market=market) for _ in range(3)]
    return {
        "clients": [c.pk for c in clients],
        "products": products,
        "distributions": [d.pk for d in distributions],
    }


class Worker:
    """One thread's operations, on its own copies of the rows (as a request would)."""

    def __init__(self, i: int, world: dict):
        self.rng = random.Random(i)
        self.world = world
        self.own_client = world["clients"][i]
        self.last_checkout = None
        self.record_keys: set[str] = set()

    def __call__(self, _i):
        refused = 0
        for _ in range(OPERATIONS_PER_THREAD):
            operation = self.rng.choices(
                [self.checkout, self.replay_checkout, self.record, self.confirm, self.reverse],
                weights=[35, 10, 25, 20, 10],
            )[0]
            try:
                operation()
            except REFUSALS:
                refused += 1
        return self.record_keys, refused

    def _membership(self, pk) -> Membership:
        return Membership.objects.select_related("market", "user").get(pk=pk)

    def checkout(self, token=None, distribution_id=None, choice=None):
        membership = self._membership(self.own_client)
        distribution_id = distribution_id or self.rng.choice(self.world["distributions"])
        order = Order.objects.filter(membership=membership, distribution_id=distribution_id).first()
        quantities = {line.product_id: line.quantity for line in order.lines.all()} if order else {}
        product = self.rng.choice(self.world["products"])
        quantities[product.pk] = quantities.get(product.pk, 0) + 1
        choice = choice or self.rng.choice(["cash", "cheque", "cagnotte"])
        token = token or uuid.uuid4().hex
        self.last_checkout = (token, distribution_id, choice)
        order_checkout(
            membership=membership,
            distribution=Distribution.objects.get(pk=distribution_id),
            lines=basket_read(membership.market, {str(k): str(q) for k, q in quantities.items()}),
            choice=choice,
            token=token,
            notify=False,
        )

    def replay_checkout(self):
        if self.last_checkout is None:
            return self.checkout()
        token, distribution_id, choice = self.last_checkout
        return self.checkout(token=token, distribution_id=distribution_id, choice=choice)

    def record(self):
        n = self.rng.randrange(RECORD_KEYS)
        key = f"soak-record-{n}"
        self.record_keys.add(key)
        payment_record(
            membership=self._membership(self.world["clients"][n % THREADS]),
            method=PaymentMethod.CASH,
            amount=Decimal("5.00") + n,
            recorded_by=None,
            idempotency_key=key,
        )

    def confirm(self):
        """An expected payment confirmed: from Virements attendus, or on its basket's page."""
        payment = (
            Payment.objects.filter(status=PaymentStatus.PENDING)
            .select_related("order")
            .order_by("?")
            .first()
        )
        if payment is None:
            return
        if self.rng.random() < 0.5:
            payment_receive(payment=payment, received_by=None)
        else:
            basket_payment_receive(
                order=payment.order,
                payment=payment,
                received_by=None,
                method=payment.method,
                amount=payment.amount,
            )

    def reverse(self):
        payment = (
            Payment.objects.filter(order=None, status=PaymentStatus.RECEIVED)
            .select_related("transaction")
            .order_by("?")
            .first()
        )
        if payment is not None:
            txn = payment.transaction
            transaction_correct(
                txn=txn,
                reason="Saisi par erreur",
                corrected_by=None,
                idempotency_key=f"fix:{txn.pk}",
            )


def test_sixteen_workers_mixing_every_money_flow_meet_no_deadlock_and_post_each_effect_once(
    soak_market,
):
    workers = [Worker(i, soak_market) for i in range(THREADS)]

    results, errors = run_together(lambda i: workers[i](i), THREADS, timeout=300)

    assert errors == []
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "Ledger OK" in out.getvalue()
    record_keys = set().union(*(keys for keys, _refused in results))
    recorded = Payment.objects.filter(transaction__idempotency_key__in=record_keys)
    assert recorded.count() == len(record_keys)  # each replay found the first one
    received = Payment.objects.exclude(transaction=None)
    assert received.values("transaction").distinct().count() == received.count()
    confirmed = received.exclude(transaction__idempotency_key__in=record_keys)
    for payment in confirmed:
        assert payment.transaction.idempotency_key == f"payment:{payment.pk}"
    reversed_payments = Transaction.objects.filter(reversal__isnull=False)
    assert not reversed_payments.filter(payment__status=PaymentStatus.RECEIVED).exists()
    # Every flow did run, racing the others.
    assert reversed_payments.exists()
    assert confirmed.exists()
    assert Order.objects.filter(payment_method="cagnotte").exists()
    assert Payment.objects.filter(status=PaymentStatus.PENDING, order__isnull=False).exists()
