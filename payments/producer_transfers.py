"""Several producers in one basket: each one's share of an online payment.

When an online payment for an order is received (`payments.online`), each
producer of the order who has a connected Stripe account
(`Producer.stripe_account_id`) is sent their share with a Stripe Transfer, in
the payment's transfer group (``order-<pk>``), less the market's commission
(`Market.stripe_commission_percent`). Producers without an account are paid by
the market as before: nothing happens for them here.

The share
---------
Each producer's lines total, scaled to the payment when it does not cover the
whole order (a complement, say): ``lines × paid ÷ order total``, rounded down
to the cent, so that the shares never add up to more than the payment; the
cents left over stay with the market. A payment larger than the order sends
no more than the lines. The commission is the share × the percentage, rounded
to the cent (half up); the producer is sent the rest.

In the ledger
-------------
One ``producer_transfer`` transaction per producer, keyed
``producer-transfer-<payment>-<producer>``: the producer's sales account is
debited by the share (the market owes them that much less), the
online-payments account credited by what leaves Stripe, and the market's own
sales account (no producer) credited by the commission it keeps.

Once
----
Everything is written in the database transaction that receives the payment,
which happens once (`checkout_apply` moves a session to « paid » once, under
its row lock); the `ProducerTransfer` rows are unique per payment and
producer, and the posting keyed. Stripe is called after commit, with the
idempotency key ``transfer-<payment>-<producer>``: a call that fails is
logged and the row marked failed; `transfers_retry` (run by
``manage.py stripe_reconcile``) tries again with the same key.
"""

import logging
from collections import defaultdict
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cagette.i18n import stored_language
from cagette.money import CENT, to_cents
from orders.models import Order

from . import stripe_gateway as gateway
from .ledger import Leg, market_account, sales_account, transaction_post
from .models import (
    AccountKind,
    Payment,
    ProducerTransfer,
    ProducerTransferStatus,
    TransactionKind,
)

logger = logging.getLogger(__name__)
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


def producer_totals(order: Order) -> dict:
    """Each producer of the order with their lines total: ``{producer: amount}``."""
    totals: dict = defaultdict(lambda: ZERO)
    for line in order.lines.select_related("product__producer"):
        totals[line.product.producer] += line.amount
    return dict(totals)


def shares_of(totals: dict, paid: Decimal) -> dict:
    """What of ``paid`` belongs to each producer (see the module's docstring).

    Rounded down to the cent: the shares never add up to more than ``paid``.
    """
    whole = sum(totals.values(), ZERO)
    if whole <= 0 or paid <= 0:
        return {}
    if paid >= whole:
        return {producer: amount for producer, amount in totals.items() if amount > 0}
    shares = {}
    for producer, amount in totals.items():
        share = (amount * paid / whole).quantize(CENT, rounding=ROUND_DOWN)
        if share > 0:
            shares[producer] = share
    return shares


def commission_of(share: Decimal, percent: Decimal) -> Decimal:
    return to_cents(share * percent / HUNDRED)


def transfers_plan(payment: Payment) -> list[ProducerTransfer]:
    """Record the transfers of a just received online payment; Stripe is called after commit.

    Call inside the database transaction that receives the payment. Safe to
    call again: what is already recorded is neither recorded nor sent twice.
    """
    order = payment.order
    if order is None:
        return []
    market = payment.market
    totals = producer_totals(order)
    connected = {p: amount for p, amount in totals.items() if p.stripe_account_id}
    if not connected:
        return []
    shares = shares_of(totals, payment.amount)
    percent = market.stripe_commission_percent or ZERO
    created = []
    for producer in sorted(connected, key=lambda p: p.pk):
        share = shares.get(producer, ZERO)
        if share <= 0 or payment.producer_transfers.filter(producer=producer).exists():
            continue
        commission = commission_of(share, percent)
        amount = share - commission
        if amount <= 0:  # the market keeps it all: nothing to send
            continue
        txn = _post(payment, producer, share=share, commission=commission, amount=amount)
        created.append(
            ProducerTransfer.objects.create(
                payment=payment,
                producer=producer,
                destination=producer.stripe_account_id,
                share=share,
                commission=commission,
                amount=amount,
                transaction=txn,
            )
        )
    ids = [row.pk for row in created]
    if ids:
        transaction.on_commit(lambda: transfers_send(ids))
    return created


def _post(payment: Payment, producer, *, share: Decimal, commission: Decimal, amount: Decimal):
    market = payment.market
    legs = [
        Leg(sales_account(market, producer), share),
        Leg(market_account(market, AccountKind.ONLINE), -amount),
    ]
    if commission:
        legs.append(Leg(sales_account(market), -commission))
    with stored_language():
        label = _("Versement en ligne à %(producer)s — panier n° %(number)s") % {
            "producer": producer.name,
            "number": payment.order.number,
        }
    txn, _created = transaction_post(
        market=market,
        kind=TransactionKind.PRODUCER_TRANSFER,
        label=label,
        legs=legs,
        idempotency_key=f"producer-transfer-{payment.pk}-{producer.pk}",
        order=payment.order,
    )
    return txn


def transfers_send(ids) -> None:
    """Ask Stripe for each transfer not sent yet; a failure is logged and marked."""
    for pk in ids:
        _send(pk)


def _send(pk: int) -> None:
    row = ProducerTransfer.objects.select_related("payment", "producer").get(pk=pk)
    if row.status == ProducerTransferStatus.SENT:
        return
    try:
        answer = gateway.transfer_create(
            amount=row.amount,
            destination=row.destination,
            transfer_group=f"order-{row.payment.order_id}",
            idempotency_key=row.idempotency_key,
            metadata={
                "payment_id": str(row.payment_id),
                "order_id": str(row.payment.order_id),
                "producer_id": str(row.producer_id),
                "market_id": str(row.payment.market_id),
                "commission": str(row.commission),
            },
        )
    except gateway.GatewayError as error:
        logger.error(
            "Stripe transfer %s to %s failed: %s", row.idempotency_key, row.destination, error
        )
        ProducerTransfer.objects.filter(pk=pk).exclude(status=ProducerTransferStatus.SENT).update(
            status=ProducerTransferStatus.FAILED, error=str(error)[:2000]
        )
        return
    ProducerTransfer.objects.filter(pk=pk).update(
        status=ProducerTransferStatus.SENT,
        transfer_id=answer.get("id", ""),
        error="",
        sent_at=timezone.now(),
    )


def transfers_retry() -> int:
    """Send again the transfers not sent (failed, or pending after a crash); how many now sent."""
    ids = list(
        ProducerTransfer.objects.exclude(status=ProducerTransferStatus.SENT)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    transfers_send(ids)
    return ProducerTransfer.objects.filter(pk__in=ids, status=ProducerTransferStatus.SENT).count()
