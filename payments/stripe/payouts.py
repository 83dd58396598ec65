"""Several producers in one basket: each one's share of an online payment.

When an online payment for an order is received (`payments.stripe.checkout`), each
producer of the order who has a connected Stripe account
(`Producer.stripe_account_id`) is sent their share with a Stripe Transfer, in
the payment's transfer group (``order-<pk>``), less the market's commission
(`Market.stripe_commission_percent`). Producers without an account are paid by
the market as before: nothing happens for them here.

The share (`payments.stripe.shares`)
--------------------------------------
A payment pays what is still unpaid on the order, per producer: each
producer's lines total less what the order's earlier online payments went to
them (connected or not; an earlier payment's transfer says what it gave its
producer, the rest is split again by this rule; refunds count as not paid).
The payment is split over those amounts in proportion when it does not cover
them all (``unpaid × paid ÷ total unpaid``, rounded down to the cent, so the
shares never add up to more than the payment; the cents left over stay with
the market); a payment larger than them sends no more than them. So a
complement paid for a salad goes to the salad's producer, not again to the
honey's. The commission is the share × the percentage, rounded to the cent
(half up); the producer is sent the rest.

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
producer, and the posting keyed. That transaction also defers one job per
transfer (``payout_send``, `payments.tasks`): the job calls Stripe, never the
request or the webhook, with the idempotency key
``transfer-<payment>-<producer>``, naming the payment's charge as
``source_transaction`` (card money is not available at once; a transfer
funded by the charge need not wait for it). A call that fails for a while
(network, 5xx, 429) marks the row failed and the queue tries the job again
later, for a day (`cagette.jobs.RETRY`); `payouts_retry` (run by
``manage.py stripe_reconcile``) queues it again after that, with the same
parameters (the charge is kept on the row from the first attempt). The
job holds the row's lock (``transfer-<pk>``): two workers never send one
transfer at once. Any attempt but the very
first looks first at Stripe for a transfer an earlier one made (its answer
lost, or the process stopped while waiting), by the transfer group, the
destination and the metadata: the idempotency key alone does not protect a
retry, since Stripe forgets keys after 24 hours (a retry a day later would
pay again) and replays a saved 500 until then. Not found, it is sent under a
new key (``-attempt-<n>``). Stripe
refusing a key reused with other parameters is a refusal for good, unless
the transfer is found at Stripe. A call Stripe
refuses for good (4xx: an unknown or disconnected account...) marks it
refused and reverses its posting: the market owes the producer their share
and pays them as before; it is not tried again.

Refunds
-------
A refund confirmed by Stripe (`payments.stripe.refund_events.refund_apply`) takes
back from each transfer of the payment its part of what was refunded so far:
``amount × refunded ÷ paid`` and ``commission × refunded ÷ paid``, rounded
down to the cent (all of it once fully refunded). Only the difference with
what was already taken back is posted (keyed on the running total), so
events arriving twice or out of order take back each cent once: the
online-payments account debited, the producer's sales account credited by the
share part, the market's own sales account debited by the commission part.
A transfer already sent is then reversed at Stripe by a job (key
``transfer-reversal-<transfer>-<cents reversed in all>``, retried like
transfers); one not sent yet is sent less what was taken back, or, when
nothing is left, cancelled once Stripe is asked whether an earlier attempt made
it (its answer lost, or the process stopped while waiting): if one did, the
row is marked sent and reversed like any other. A reversal Stripe refuses for
good is marked refused and shown on Encaissements: the market must get the
money back from the producer. What was taken back stays so if a refund fails
afterwards (the money is back with the market, which pays the producer as it
would any share it holds).

Locks
-----
Sending (and reversing) holds the paid session's row, then the transfer's,
for the duration of the call to Stripe: a refund being applied waits for it
(and the other way round), so a transfer is never sent in full while its
refund is being posted. The session first, as `refund_apply` and
`checkout_apply` do, so they cannot deadlock with it. A flow posting several
transactions at once locks all the accounts it may touch first, in the
ledger's lock order (`payment_accounts_lock`). Calls to Stripe give up after about ten seconds
(``settings.STRIPE_TIMEOUT``), so a stalled Stripe does not hold these locks.
"""

from decimal import Decimal

from django.utils.translation import gettext as _

from cagette.i18n import stored_language
from cagette.money import ZERO

from ..ledger import (
    Leg,
    market_account,
    sales_account,
    transaction_post,
)
from ..models import (
    AccountKind,
    Payment,
    ProducerTransfer,
    ProducerTransferStatus,
    TransactionKind,
    TransferReversalStatus,
)
from . import gateway
from .deferred import payout_reversal_send_defer, payout_send_defer
from .payout_sending import UNSENT, take_back_key
from .shares import (
    commission_of,
    part_of,
    producer_totals,
    shares_of,
    unpaid_before,
)

Status = ProducerTransferStatus
Reversal = TransferReversalStatus


# -- Planning: in the database transaction that receives the payment ---------------------


def payouts_plan(payment: Payment, *, charge: str = "") -> list[ProducerTransfer]:
    """Record the transfers of a just received online payment; a job calls Stripe.

    ``charge``: the payment's charge, when known (else looked up before
    sending). Call inside the database transaction that receives the
    payment. Safe to call again: nothing is recorded or sent twice.
    """
    order = payment.order
    if order is None:
        return []
    totals = producer_totals(order)
    connected = sorted((p for p in totals if p.stripe_account_id), key=lambda p: p.pk)
    if not connected:
        return []
    shares = shares_of(unpaid_before(payment, totals), payment.amount)
    percent = payment.market.stripe_commission_percent or ZERO
    created = []
    for producer in connected:
        share = shares.get(producer, ZERO)
        if share <= 0 or payment.producer_transfers.filter(producer=producer).exists():
            continue
        commission = commission_of(share, percent)
        if share - commission <= 0:  # the market keeps it all: nothing to send
            continue
        created.append(_record(payment, producer, share, commission, charge))
    for row in created:
        payout_send_defer(row.pk, first=True)
    return created


def _record(payment: Payment, producer, share: Decimal, commission: Decimal, charge: str):
    amount = share - commission
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
    return ProducerTransfer.objects.create(
        payment=payment,
        producer=producer,
        destination=producer.stripe_account_id,
        share=share,
        commission=commission,
        amount=amount,
        transaction=txn,
        source_transaction=charge or None,  # else asked at the first attempt
    )


# -- Refunds: in the database transaction that posts them --------------------------------


def payouts_reverse(payment: Payment, refunded: Decimal) -> None:
    """Stripe confirmed ``refunded`` in all on ``payment``: take back each transfer's part.

    Call inside the transaction that posts the refund, under the session's
    lock. What was already taken back is not taken twice; a job asks Stripe
    for transfers already sent.
    """
    rows = (
        ProducerTransfer.objects.select_for_update(of=("self",))
        .select_related("producer")
        .filter(payment=payment)
        .exclude(status=Status.REFUSED)
        .order_by("pk")
    )
    taken = [row for row in rows if _take_back(row, payment, refunded)]
    to_reverse = [row.pk for row in taken if row.status == Status.SENT]
    # Nothing left to send: `_send` cancels it, once Stripe says no earlier
    # attempt made it (or reverses what one did).
    to_settle = [row.pk for row in taken if row.status in UNSENT and row.reversed == row.amount]
    for pk in to_reverse:
        payout_reversal_send_defer(pk)
    for pk in to_settle:
        payout_send_defer(pk)


def _take_back(row: ProducerTransfer, payment: Payment, refunded: Decimal) -> bool:
    """Post this transfer's new part of the refund; whether some was taken back."""
    target = part_of(row.amount, refunded, payment.amount)
    target_commission = part_of(row.commission, refunded, payment.amount)
    amount, commission = target - row.reversed, target_commission - row.reversed_commission
    if amount < 0 or commission < 0 or amount + commission == 0:
        return False
    _post_take_back(row, payment, amount, commission, total=target + target_commission)
    row.reversed, row.reversed_commission = target, target_commission
    if row.status == Status.SENT and amount > 0:
        row.reversal_status = Reversal.PENDING
    row.save(update_fields=["reversed", "reversed_commission", "reversal_status"])
    return row.status != Status.SENT or amount > 0


def _post_take_back(row, payment: Payment, amount: Decimal, commission: Decimal, *, total):
    market = payment.market
    legs = [Leg(sales_account(market, row.producer), -(amount + commission))]
    if amount:
        legs.append(Leg(market_account(market, AccountKind.ONLINE), amount))
    if commission:
        legs.append(Leg(sales_account(market), commission))
    with stored_language():
        label = _("Reprise du versement à %(producer)s (remboursement) — panier n° %(number)s") % {
            "producer": row.producer.name,
            "number": payment.order.number,
        }
    transaction_post(
        market=market,
        kind=TransactionKind.PRODUCER_TRANSFER,
        label=label,
        legs=legs,
        idempotency_key=f"{take_back_key(row)}{gateway.to_cents(total)}",
        order=payment.order,
    )
